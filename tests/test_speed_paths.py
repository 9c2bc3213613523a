"""The fast paths: batch chunks and threads in conv2d, the thread pool, pooling without
zero-fill, LeakyReLU without ``where``, the op profiler, gradients that are not copied.

Each is checked against PyTorch (float64) and, where threads are involved, for results
that are bit-identical with one thread and with several.
"""

import contextlib

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import backend
from numnet.autograd import profile
from numnet.ops import conv, conv_kernels


@pytest.fixture
def threads():
    """Restore numnet's thread count after the test."""
    previous = numnet.get_num_threads()
    yield
    numnet.set_num_threads(previous)


def _conv_grads(x, w, b, gy, stride, padding):
    xt = numnet.tensor(x, requires_grad=True)
    wt = numnet.tensor(w, requires_grad=True)
    bt = numnet.tensor(b, requires_grad=True)
    y = F.conv2d(xt, wt, bt, stride=stride, padding=padding)
    y.backward(numnet.tensor(gy))
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


CASES = [  # x shape, w shape, stride, padding, input-gradient method
    ((7, 3, 9, 9), (4, 3, 3, 3), 1, 1, "col2im"),
    ((7, 3, 9, 9), (4, 3, 3, 3), 1, 1, "full"),
    ((5, 2, 11, 10), (6, 2, 5, 5), 1, 2, "auto"),
    ((6, 3, 10, 9), (4, 3, 3, 2), 2, (1, 0), "auto"),
    ((5, 1, 12, 12), (6, 1, 5, 5), 1, 0, "auto"),  # tiny weights: per-sample GEMMs
    ((5, 2, 8, 9), (3, 2, 3, 2), 1, (1, 0), "col2im"),  # non-square kernels: row col2im
    ((4, 3, 7, 6), (5, 3, 2, 3), 1, (0, 1), "col2im"),
    ((6, 4, 7, 9), (5, 4, 1, 1), 1, 0, "auto"),  # pointwise: the input is the columns
    ((6, 4, 7, 9), (5, 4, 1, 1), 2, 0, "auto"),  # pointwise, strided
    ((5, 3, 8, 7), (4, 3, 1, 1), (2, 3), 0, "auto"),
]
POINTWISE = CASES[-3:]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("chunk", [1, 2 ** 30])
@pytest.mark.parametrize("layout", ["channel", "sample"])
def test_chunked_threaded_conv2d_matches_torch(case, chunk, layout, threads, monkeypatch):
    """Chunks of one sample each (or one chunk for all), 2 threads, float64, vs torch, with
    channel-major and sample-major columns."""
    x_shape, w_shape, stride, padding, method = case
    monkeypatch.setattr(conv_kernels, "_CHUNK_ELEMENTS", chunk)
    monkeypatch.setattr(conv_kernels, "_SAMPLE_CHUNK_MACS", chunk)
    monkeypatch.setattr(conv_kernels, "_LAYOUT", layout)
    monkeypatch.setattr(conv_kernels, "_INPUT_GRAD", method)
    monkeypatch.setattr(conv_kernels, "_PARALLEL_MIN_MACS", 0)  # thread even these tiny layers
    numnet.set_num_threads(2)
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[:1])
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = TF.conv2d(xt, wt, bt, stride=stride, padding=padding)
    gy = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(gy))
    got = _conv_grads(x, w, b, gy, stride, padding)
    expected = (yt.detach(), xt.grad, wt.grad, bt.grad)
    for name, g, e in zip(("y", "gx", "gW", "gb"), got, expected):
        numpy.testing.assert_allclose(g, e.numpy(), rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("case", CASES[:3] + POINTWISE)
@pytest.mark.parametrize("layout", ["channel", "sample"])
def test_conv2d_same_bits_for_any_thread_count(case, layout, threads, monkeypatch):
    """The chunking depends on shapes only, so 1 and 2 threads give identical float32."""
    x_shape, w_shape, stride, padding, _ = case
    monkeypatch.setattr(conv_kernels, "_CHUNK_ELEMENTS", 300)
    monkeypatch.setattr(conv_kernels, "_SAMPLE_CHUNK_MACS", 3000)
    monkeypatch.setattr(conv_kernels, "_LAYOUT", layout)
    monkeypatch.setattr(conv_kernels, "_PARALLEL_MIN_MACS", 0)
    rng = numpy.random.default_rng(1)
    arrays = [rng.standard_normal(s, dtype=numpy.float32) for s in (x_shape, w_shape)]
    b = rng.standard_normal(w_shape[:1], dtype=numpy.float32)
    numnet.set_num_threads(1)
    y = F.conv2d(numnet.tensor(arrays[0]), numnet.tensor(arrays[1]), numnet.tensor(b),
                 stride=stride, padding=padding)
    gy = rng.standard_normal(y.shape, dtype=numpy.float32)
    results = {}
    for n in (1, 2, 3):
        numnet.set_num_threads(n)
        results[n] = _conv_grads(arrays[0], arrays[1], b, gy, stride, padding)
        assert all(r.dtype == numpy.float32 for r in results[n])
    for n in (2, 3):
        for one, many in zip(results[1], results[n]):
            numpy.testing.assert_array_equal(one, many)


@pytest.mark.parametrize("threshold,threaded", [(0, True), (10 ** 12, False)])
def test_small_convolutions_stay_in_the_calling_thread(threshold, threaded, threads,
                                                        monkeypatch):
    monkeypatch.setattr(conv_kernels, "_CHUNK_ELEMENTS", 300)
    monkeypatch.setattr(conv_kernels, "_PARALLEL_MIN_MACS", threshold)
    numnet.set_num_threads(2)
    import threading
    seen = set()
    x = numnet.randn(4, 2, 6, 6, requires_grad=True)
    real = conv.gemm
    monkeypatch.setattr(conv, "gemm", lambda *args: seen.add(threading.current_thread())
                        or real(*args))
    F.conv2d(x, numnet.randn(3, 2, 3, 3), padding=1).sum().backward()
    assert (len(seen) == 2) == threaded


def test_chunks_cover_the_batch_in_order():
    function = conv.Conv2d(1, 1)
    x = numpy.zeros((37, 3, 9, 9), numpy.float32)
    w = numpy.zeros((4, 3, 3, 3), numpy.float32)
    function.needs_input_grad = (False, False)
    function.forward(x, w)
    chunks = conv_kernels.batch_chunks(function.geometry)
    assert chunks[0][0] == 0 and chunks[-1][1] == 37
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))


def test_parallel_map_keeps_order_and_nests(threads):
    numnet.set_num_threads(3)
    seen = []

    def inner(i):
        seen.append(i)
        return i * i

    def outer(i):
        return backend.parallel_map(inner, [(i,), (i + 100,)])  # runs sequentially inside

    assert backend.parallel_map(lambda i: i * 2, [(i,) for i in range(10)]) == \
        [i * 2 for i in range(10)]
    assert backend.parallel_map(outer, [(i,) for i in range(5)]) == \
        [[i * i, (i + 100) ** 2] for i in range(5)]
    assert sorted(seen) == sorted(list(range(5)) + [i + 100 for i in range(5)])


def test_parallel_map_raises_and_restores_blas_threads(threads):
    numnet.set_num_threads(2)
    blas = backend._find_blas_threads()
    before = blas[0]() if blas else None

    def fail(i):
        if i == 3:
            raise ValueError("chunk 3")
        return i

    with pytest.raises(ValueError, match="chunk 3"):
        backend.parallel_map(fail, [(i,) for i in range(4)])
    if blas:
        assert blas[0]() == before


def test_set_num_threads_one_is_sequential(threads):
    import threading
    numnet.set_num_threads(1)
    names = backend.parallel_map(lambda i: threading.current_thread().name,
                                 [(i,) for i in range(4)])
    assert set(names) == {threading.current_thread().name}
    with pytest.raises(ValueError):
        numnet.set_num_threads(0)


@pytest.mark.parametrize("shape,kernel,stride", [((3, 4, 8, 8), 2, None),
                                                 ((3, 4, 7, 9), 2, None),
                                                 ((2, 3, 9, 9), 3, 2)])
def test_max_pool_backward_without_zero_fill(shape, kernel, stride):
    """Exact tiling skips the zero fill; partial tiling and overlap must still zero."""
    rng = numpy.random.default_rng(2)
    x = numpy.maximum(rng.standard_normal(shape), 0)  # ReLU-like: many ties at 0
    xn = numnet.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yn = F.max_pool2d(xn, kernel, stride)
    yt = TF.max_pool2d(xt, kernel, stride)
    gy = rng.standard_normal(yn.shape)
    yn.backward(numnet.tensor(gy))
    yt.backward(torch.tensor(gy))
    numpy.testing.assert_array_equal(yn.detach().numpy(), yt.detach().numpy())
    # overlapping windows add in another order than torch: equal up to rounding
    numpy.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.0, 1.5, -0.5])
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_leaky_relu_bit_equal_to_torch(slope, dtype):
    rng = numpy.random.default_rng(3)
    x = rng.standard_normal((4, 5, 6)).astype(dtype)
    x[0, 0, :3] = 0.0
    gy = rng.standard_normal(x.shape).astype(dtype)
    xn = numnet.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yn = F.leaky_relu(xn, slope)
    yt = TF.leaky_relu(xt, slope)
    yn.backward(numnet.tensor(gy))
    yt.backward(torch.tensor(gy))
    assert yn.dtype == dtype and xn.grad.dtype == dtype
    numpy.testing.assert_array_equal(yn.detach().numpy(), yt.detach().numpy())
    numpy.testing.assert_array_equal(xn.grad.numpy(), xt.grad.numpy())


def test_profile_times_forward_and_backward_by_op():
    x = numnet.ones(2, 3, requires_grad=True)
    with profile() as prof:
        (F.relu(x) * 2.0).sum().backward()
    rows = {name: (fwd, bwd, calls) for name, fwd, bwd, calls in prof.table()}
    assert set(rows) == {"ReLU", "Mul", "Sum"}
    assert all(fwd > 0 and bwd > 0 and calls == 1 for fwd, bwd, calls in rows.values())
    from numnet import autograd
    assert autograd._profiler is None
    (x * 2.0).sum().backward()  # not recorded once the block is over
    assert prof.totals[("Mul", "forward")][1] == 1


def test_backward_gradient_is_not_aliased():
    """Tensor.backward no longer copies ``gradient``; the leaf still gets its own array."""
    x = numnet.ones(2, 3, requires_grad=True)
    g = numpy.full((2, 3), 2.0, numpy.float32)
    x.reshape(3, 2).backward(g.reshape(3, 2))
    g[...] = 7.0
    numpy.testing.assert_array_equal(x.grad.numpy(), numpy.full((2, 3), 2.0))
    y = x * 1.0
    gy = numpy.ones((2, 3), numpy.float32)
    y.backward(gy)
    y2 = x * 1.0
    y2.backward(gy)
    numpy.testing.assert_array_equal(gy, numpy.ones((2, 3)))
    numpy.testing.assert_array_equal(x.grad.numpy(), numpy.full((2, 3), 4.0))


@pytest.mark.parametrize("a_shape,b_shape", [((64, 300), (300, 40)), ((3, 48, 50), (50, 30)),
                                             ((8, 50), (50, 90)), ((2, 1, 40, 60), (3, 60, 20)),
                                             ((70, 20), (20,)), ((20,), (20, 5))])
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_matmul_split_over_threads_gives_numpys_bits(a_shape, b_shape, dtype, threads,
                                                     monkeypatch):
    """Rows cut into parts (here from 1 multiply-add up) on 1 or 2 threads: NumPy's result."""
    monkeypatch.setattr(backend, "_SPLIT_MACS", 1)
    rng = numpy.random.default_rng(0)
    a = rng.standard_normal(a_shape).astype(dtype)
    b = rng.standard_normal(b_shape).astype(dtype)
    results = []
    for count in (1, 2):
        numnet.set_num_threads(count)
        results.append(backend.matmul(a, b))
    expected = numpy.matmul(a, b)
    for result in results:
        assert result.dtype == expected.dtype and result.shape == expected.shape
        numpy.testing.assert_allclose(result, expected, rtol=1e-6 if dtype == numpy.float32
                                      else 1e-12, atol=1e-5)
    numpy.testing.assert_array_equal(results[0], results[1])


def test_matmul_runs_the_blas_on_one_thread():
    blas = backend._find_blas_threads()
    if not blas:
        pytest.skip("no OpenBLAS found")
    seen = []
    with backend.single_threaded_blas():
        seen.append(blas[0]())
        with backend.single_threaded_blas():
            seen.append(blas[0]())
    assert seen == [1, 1]


@pytest.mark.parametrize("length,per_item", [(0, 5), (1, 10), (7, 1), (1000, 300), (3, 10 ** 6)])
def test_map_batch_covers_every_index_once_in_pieces_of_the_sizes(length, per_item, threads,
                                                                  monkeypatch):
    monkeypatch.setattr(backend, "_PIECE_ELEMENTS", 1000)
    seen = {}
    for count in (1, 3):
        numnet.set_num_threads(count)
        pieces = []
        backend.map_batch(lambda start, stop, found=pieces: found.append((start, stop)), length,
                          per_item)
        pieces.sort()
        assert sum(stop - start for start, stop in pieces) == length
        assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
        seen[count] = pieces
    assert seen[1] == seen[3]  # the pieces do not depend on the thread count


@pytest.mark.parametrize("op", ["relu", "max_pool"])
def test_elementwise_pieces_on_threads_match_torch_and_one_thread(op, threads, monkeypatch):
    monkeypatch.setattr(backend, "_PIECE_ELEMENTS", 50)  # many pieces even here
    rng = numpy.random.default_rng(3)
    x = rng.standard_normal((6, 3, 8, 8))
    x[0, 0, :2, :2] = 0.0  # ties and zeros
    gy_shape = (6, 3, 8, 8) if op == "relu" else (6, 3, 4, 4)
    gy = rng.standard_normal(gy_shape)
    numnet_fn = F.relu if op == "relu" else (lambda t: F.max_pool2d(t, 2))
    torch_fn = TF.relu if op == "relu" else (lambda t: TF.max_pool2d(t, 2))
    results = []
    for count in (1, 2):
        numnet.set_num_threads(count)
        xn = numnet.tensor(x, requires_grad=True)
        y = numnet_fn(xn)
        y.backward(numnet.tensor(gy))
        results.append((y.detach().numpy(), xn.grad.numpy()))
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_fn(xt)
    yt.backward(torch.tensor(gy))
    for y, gx in results:
        numpy.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=0)
        numpy.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-12, atol=0)
    numpy.testing.assert_array_equal(results[0][1], results[1][1])


def test_freed_memory_setting_can_be_turned_off():
    import subprocess
    import sys
    code = "import numnet.backend as b; print(b.keeps_freed_memory)"
    env = {"NUMNET_KEEP_FREED_MEMORY": "0", "PATH": "/usr/bin:/bin"}
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)
    assert off.stdout.strip() == "False"
    import platform
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert backend.keeps_freed_memory  # on by default


def test_matmul_chooses_its_threads_by_size(threads, monkeypatch):
    """Small and medium products are single calls (one thread; OpenBLAS's threads); a large
    one is cut into parts for numnet's threads, the same parts for any thread count."""
    calls = []
    real = backend.parallel_map
    monkeypatch.setattr(backend, "parallel_map", lambda fn, items, threads=None:
                        calls.append(len(items)) or real(fn, items, threads))
    rng = numpy.random.default_rng(0)
    sizes = {"small": (64, 400, 120), "medium": (128, 784, 256), "large": (128, 4096, 512)}
    for count in (2, 1):
        numnet.set_num_threads(count)
        for name, (m, k, n) in sizes.items():
            a = rng.standard_normal((m, k)).astype(numpy.float32)
            b = rng.standard_normal((k, n)).astype(numpy.float32)
            calls.clear()
            numpy.testing.assert_allclose(backend.matmul(a, b), a @ b, rtol=1e-5, atol=1e-4)
            assert calls == ([4] if name == "large" else []), (name, count)


def test_medium_products_leave_openblas_threads_asleep_once_numnets_run(threads,
                                                                        monkeypatch):
    """A medium product (4 to 128 million multiply-adds) runs on OpenBLAS's threads in a
    process whose numnet threads have done nothing yet, and on a one-thread BLAS once they
    have (a convolution's chunks): OpenBLAS's threads would spin after it and take their
    cores."""
    entered = []
    real = backend.single_threaded_blas

    @contextlib.contextmanager
    def recording():
        entered.append(True)
        with real():
            yield

    monkeypatch.setattr(backend, "single_threaded_blas", recording)
    monkeypatch.setattr(backend, "_workers_used", False)
    numnet.set_num_threads(2)
    rng = numpy.random.default_rng(0)
    a = rng.standard_normal((128, 784)).astype(numpy.float32)
    b = rng.standard_normal((784, 256)).astype(numpy.float32)
    backend.matmul(a, b)
    assert entered == []  # OpenBLAS's own threads
    F.conv2d(numnet.randn(64, 16, 20, 20), numnet.randn(32, 16, 3, 3))  # numnet's threads
    assert backend._workers_used
    entered.clear()
    product = backend.matmul(a, b)
    assert entered == [True]
    with real():
        numpy.testing.assert_array_equal(product, numpy.matmul(a, b))


@pytest.mark.parametrize("case", POINTWISE)
def test_pointwise_conv2d_fused_and_unbatched_match_torch(case, check_op):
    """A 1x1 convolution multiplies the input where it lies (``ConvGeometry.pointwise``):
    unbatched, without bias, and fused with its ReLU and pooling (``conv2d_relu``, which
    stores through its own ``_store``), against torch."""
    x_shape, w_shape, stride, _, _ = case
    check_op(lambda x, w: F.conv2d(x, w, stride=stride),
             lambda x, w: TF.conv2d(x, w, stride=stride), x_shape[1:], w_shape)
    check_op(lambda x, w, b: F.conv2d_relu(x, w, b, stride=stride, pool=2),
             lambda x, w, b: TF.max_pool2d(TF.relu(TF.conv2d(x, w, b, stride=stride)), 2),
             x_shape, w_shape, w_shape[:1])
    assert conv_kernels.ConvGeometry.of(x_shape, w_shape, (1, 1), (0, 0), (1, 1)).pointwise
    assert not conv_kernels.ConvGeometry.of(x_shape, w_shape, (1, 1), (1, 1), (1, 1)).pointwise


def test_sample_major_layout_is_chosen_from_the_shapes():
    """Sample-major columns for a forward (and a backward without ``gx``) with at least
    ``_SAMPLE_MIN_PIXELS`` output pixels per sample; channel-major for ``gx``, for small
    outputs and for groups."""
    of = conv_kernels.ConvGeometry.of
    minimum = conv_kernels._SAMPLE_MIN_PIXELS
    side = int(numpy.ceil(numpy.sqrt(minimum)))
    big, small = (side, side), (side - 2, side - 2)
    x_shape, w_shape = (2, 4, side + 2, side + 2), (8, 4, 3, 3)
    geometry = of(x_shape, w_shape, (1, 1), (0, 0), big)
    assert geometry.sample_major and geometry.row_width == side  # no wide rows
    assert geometry.padded_size == (side + 2, side + 2)
    assert not geometry.for_backward(input_grad=True).sample_major
    assert geometry.for_backward(input_grad=False).sample_major
    assert not of(x_shape, w_shape, (1, 1), (0, 0), small).sample_major
    assert not of(x_shape, (8, 2, 3, 3), (1, 1), (0, 0), big, groups=2).sample_major


@pytest.mark.parametrize("layout", ["channel", "sample"])
@pytest.mark.parametrize("pool", [None, 2])
def test_fused_conv2d_relu_with_either_layout_matches_torch(layout, pool, monkeypatch,
                                                            check_op):
    """``Conv2dReLU`` stores through its own ``_store`` and takes ``gy`` back through its
    ReLU (and pooling) per chunk, whichever column layout its chunks come in."""
    monkeypatch.setattr(conv_kernels, "_LAYOUT", layout)
    monkeypatch.setattr(conv_kernels, "_SAMPLE_CHUNK_MACS", 1)

    def torch_fn(x, w, b):
        y = TF.relu(TF.conv2d(x, w, b, padding=1))
        return y if pool is None else TF.max_pool2d(y, pool)

    check_op(lambda x, w, b: F.conv2d_relu(x, w, b, padding=1, pool=pool), torch_fn,
             (3, 2, 6, 6), (4, 2, 3, 3), (4,))
