"""Higher-order gradients through whole models, against PyTorch: a WGAN-GP critic step (the
norm of d(critic)/d(input) in the loss) and a Hessian-vector product of the CIFAR CNN's
loss with respect to all its weights."""

from __future__ import annotations

import numpy
import torch

import numnet
import numnet.nn.functional as F
from numnet import nn


def _load(numnet_model, torch_model) -> None:
    state = {k: torch.tensor(v) for k, v in numnet_model.state_dict().items()}
    torch_model.load_state_dict(state)


def _critic(lib):
    layers = lib.nn
    return layers.Sequential(
        layers.Conv2d(1, 4, 3, stride=2, padding=1), layers.LeakyReLU(0.2),
        layers.Conv2d(4, 8, 3, padding=1), layers.Tanh(), layers.AvgPool2d(2),
        layers.Flatten(), layers.Linear(8 * 2 * 2, 16), layers.LeakyReLU(0.2),
        layers.Linear(16, 1))


def _gradient_penalty(lib, critic, real, fake, mix):
    """WGAN-GP (Gulrajani et al. 2017): ``lambda (||d D(x_hat) / d x_hat||_2 - 1)^2`` at
    ``x_hat = mix real + (1 - mix) fake``."""
    x_hat = mix * real + (1 - mix) * fake
    x_hat.requires_grad_(True)
    (g,) = lib.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norms = (g.reshape(g.shape[0], -1) ** 2).sum(1).sqrt()
    return 10 * ((norms - 1) ** 2).mean()


def test_wgan_gp_critic_step_equals_torch():
    rng = numpy.random.default_rng(0)
    real, fake = rng.standard_normal((2, 6, 1, 8, 8))
    mix = rng.uniform(size=(6, 1, 1, 1))
    numnet.manual_seed(0)
    critic = _critic(numnet).double()
    twin = _critic(torch).double()
    _load(critic, twin)
    optimizers = [numnet.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9)),
                  torch.optim.Adam(twin.parameters(), lr=1e-3, betas=(0.5, 0.9))]
    for step in range(2):
        losses = []
        for lib, model, optimizer in ((numnet, critic, optimizers[0]),
                                      (torch, twin, optimizers[1])):
            r, f, m = (lib.tensor(a) for a in (real + step, fake, mix))
            optimizer.zero_grad()
            penalty = _gradient_penalty(lib, model, r, f, m)
            loss = model(f).mean() - model(r).mean() + penalty
            loss.backward()
            optimizer.step()
            losses.append((loss.item(), penalty.item()))
        numpy.testing.assert_allclose(losses[0], losses[1], rtol=1e-10)
        assert losses[0][1] > 1.0  # the penalty is a real part of the loss
        for (name, p), q in zip(critic.named_parameters(), twin.parameters()):
            numpy.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-8, atol=1e-12,
                                          err_msg=name)
            numpy.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-13,
                                          err_msg=name)


def _torch_cifar_cnn():
    t = torch.nn
    return t.Sequential(
        t.Conv2d(3, 32, 3, padding=1), t.ReLU(), t.Conv2d(32, 32, 3, padding=1), t.ReLU(),
        t.MaxPool2d(2), t.Conv2d(32, 64, 3, padding=1), t.ReLU(),
        t.Conv2d(64, 64, 3, padding=1), t.ReLU(), t.MaxPool2d(2), t.Flatten(),
        t.Linear(4096, 512), t.ReLU(), t.Linear(512, 10))


def test_hessian_vector_product_of_the_cifar_cnn_loss_equals_torch():
    numnet.manual_seed(1)
    model = numnet.models.cifar_cnn().double()
    twin = _torch_cifar_cnn().double()
    state = {k: torch.tensor(v) for k, v in model.state_dict().items()}
    twin.load_state_dict(dict(zip(twin.state_dict(), state.values())))
    rng = numpy.random.default_rng(1)
    images = rng.standard_normal((2, 3, 32, 32))
    labels = numpy.array([3, 7])
    vectors = [rng.standard_normal(p.shape) for p in model.parameters()]
    results = []
    for lib, net in ((numnet, model), (torch, twin)):
        params = list(net.parameters())
        loss = lib.nn.functional.cross_entropy(net(lib.tensor(images)), lib.tensor(labels))
        grads = lib.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * lib.tensor(v)).sum() for g, v in zip(grads, vectors))
        results.append([h.detach().numpy() if lib is torch else h.data
                        for h in lib.autograd.grad(dot, params)])
    for got, expected in zip(*results):
        scale = numpy.abs(expected).max()
        assert scale > 0
        numpy.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9 * scale)


def test_hvp_through_functional_calls_equals_the_sequential_one():
    """A model written with F.* calls in its own forward gives the same Hessian-vector
    product as the nn.Sequential one (which runs the fused conv-ReLU-pool op)."""
    numnet.manual_seed(2)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(4 * 3 * 3, 3)).double()
    conv, linear = net[0], net[4]

    def functional(x):
        x = F.max_pool2d(F.relu(F.conv2d(x, conv.weight, conv.bias, padding=1)), 2)
        return F.linear(x.flatten(1), linear.weight, linear.bias)

    rng = numpy.random.default_rng(2)
    x = numnet.tensor(rng.standard_normal((3, 2, 6, 6)))
    vectors = [numnet.tensor(rng.standard_normal(p.shape)) for p in net.parameters()]
    products = []
    for forward in (net, functional):
        params = list(net.parameters())
        loss = F.cross_entropy(forward(x), numnet.tensor([0, 2, 1]))
        grads = numnet.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vectors))
        products.append(numnet.autograd.grad(dot, params))
    for a, b in zip(*products):
        numpy.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-14)
