"""A CNN on scikit-learn's 8x8 digits, written the way PyTorch's MNIST example writes it.

The same file runs under PyTorch with ``numnet`` replaced by ``torch`` in its import lines
(``import torch``, ``import torch.nn as nn``, ...); ``tests/test_examples.py`` does exactly
that and compares the two runs.

    python examples/digits_cnn.py --epochs 4
"""

import argparse
import json

import numpy
from sklearn.datasets import load_digits

import numnet as torch
import numnet.nn as nn
import numnet.nn.functional as F
from numnet.optim.lr_scheduler import StepLR


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(256, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(model, device, batches, optimizer):
    model.train()
    total = 0.0
    for data, target in batches:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(batches)


def test(model, device, batches):
    model.eval()
    test_loss = 0
    correct = 0
    count = 0
    with torch.no_grad():
        for data, target in batches:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
            count += len(data)
    return test_loss / count, correct / count


def batches_of(images, labels, batch_size, order):
    return [(torch.tensor(images[order[i:i + batch_size]]),
             torch.tensor(labels[order[i:i + batch_size]]))
            for i in range(0, len(order), batch_size)]


def main():
    parser = argparse.ArgumentParser(description="digits CNN (PyTorch's MNIST example)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    digits = load_digits()
    images = (digits.images / 16.0).astype(numpy.float32)[:, None]  # (N, 1, 8, 8)
    labels = digits.target.astype(numpy.int64)
    rng = numpy.random.default_rng(args.seed)
    order = rng.permutation(len(labels))
    train_order, test_order = order[:1500], order[1500:]
    test_batches = batches_of(images, labels, 1000, test_order)

    model = Net().to(device)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train_batches = batches_of(images, labels, args.batch_size,
                                   rng.permutation(train_order))
        train_loss = train(model, device, train_batches, optimizer)
        test_loss, accuracy = test(model, device, test_batches)
        print(f"epoch {epoch}: train loss {train_loss:.4f}, test loss {test_loss:.4f}, "
              f"accuracy {accuracy:.3f}")
        scheduler.step()
    print(json.dumps({"test_loss": test_loss, "accuracy": accuracy}))


if __name__ == "__main__":
    main()
