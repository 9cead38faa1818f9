#!/usr/bin/env python3
"""The PyTorch side of bench/bench_vs_torch: the same computations as nncheck,
timed in this process, on command from the C harness (one line in, one line
out), so that the two sides run interleaved, pair by pair, on one machine.

Started as  torch_bench.py DIR  where DIR holds what the C side wrote:
  params.ckpt  the spiral MLP's parameters, an nncheck checkpoint
               (include/nncheck/checkpoint.h; read here and CRC-checked)
  data.f64     the 3 checked examples then the 300 training examples:
               u32 n, then n rows of (x0, x1) float64 and n int32 labels,
               for n = 3 and then n = 300
Commands (each answered with one line "ok ..." or "err ..."):
  loss                 the data+reg loss on the 3 examples (to prove that
                       both sides compute the same function)
  gradcheck full|fast  seconds for one torch.autograd.gradcheck over every
                       parameter, float64, default tolerances
  step small           seconds per train step, spiral MLP, batch 300, float64
  step big32|big64     seconds per train step, 3072-100-10, batch 256
  quit
Without torch the first line printed is "skip python3-torch not installed".
"""
import struct
import sys
import time
import zlib

try:
    import torch
except ImportError:
    print("skip python3-torch not installed", flush=True)
    sys.exit(0)

REG = 1e-3
LR = 1e-2


def read_ckpt(path):
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:8] != b"NNCCKPT\0":
        raise ValueError("not a checkpoint")
    if struct.unpack_from("<I", buf, len(buf) - 4)[0] != zlib.crc32(buf[:-4]):
        raise ValueError("checkpoint CRC mismatch")
    _, _, meta_len, nblocks = struct.unpack_from("<IIII", buf, 8)
    off = 24 + meta_len
    blocks = {}
    for _ in range(nblocks):
        (nlen,) = struct.unpack_from("<I", buf, off)
        off += 4
        name = buf[off:off + nlen].decode()
        off += nlen
        dtype, ndim = struct.unpack_from("<II", buf, off)
        off += 8
        shape = struct.unpack_from("<%dQ" % ndim, buf, off)
        off += 8 * ndim
        (count,) = struct.unpack_from("<Q", buf, off)
        off += 8
        fmt, size, tdt = ("d", 8, torch.float64) if dtype == 1 else ("f", 4, torch.float32)
        vals = struct.unpack_from("<%d%s" % (count, fmt), buf, off)
        off += size * count
        blocks[name] = torch.tensor(vals, dtype=tdt).reshape(shape if ndim else (count,))
    return blocks


def read_data(path):
    with open(path, "rb") as f:
        buf = f.read()
    out, off = [], 0
    while off < len(buf):
        (n,) = struct.unpack_from("<I", buf, off)
        off += 4
        x = torch.tensor(struct.unpack_from("<%dd" % (2 * n), buf, off), dtype=torch.float64).reshape(n, 2)
        off += 16 * n
        y = torch.tensor(struct.unpack_from("<%di" % n, buf, off), dtype=torch.long)
        off += 4 * n
        out.append((x, y))
    return out


def mlp_loss(x, y, W1, b1, W2, b2):
    """mlp's loss: mean softmax cross-entropy of relu(x W1 + b1) W2 + b2,
    plus 0.5 * reg * (|W1|^2 + |W2|^2) (biases not regularized)."""
    h = torch.relu(torch.addmm(b1, x, W1))
    s = torch.addmm(b2, h, W2)
    return torch.nn.functional.cross_entropy(s, y) + 0.5 * REG * ((W1 * W1).sum() + (W2 * W2).sum())


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def time_it(fn, min_time=0.05, reps=5):
    """Median seconds per call over `reps` runs of enough calls to last."""
    fn()
    n, t = 1, 0.0
    while True:
        a = time.process_time()
        for _ in range(n):
            fn()
        t = time.process_time() - a
        if t >= min_time:
            break
        n *= 2
    runs = []
    for _ in range(reps):
        a = time.process_time()
        for _ in range(n):
            fn()
        runs.append((time.process_time() - a) / n)
    return median(runs)


def main():
    d = sys.argv[1]
    torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    p = read_ckpt(d + "/params.ckpt")
    (xs, ys), (xt, yt) = read_data(d + "/data.f64")
    params = [p["W1"], p["b1"], p["W2"], p["b2"]]
    print("ready torch %s threads %d" % (torch.__version__, torch.get_num_threads()), flush=True)

    def gc_inputs():
        return tuple(t.clone().requires_grad_(True) for t in params)

    def gc_fn(W1, b1, W2, b2):
        return mlp_loss(xs, ys, W1, b1, W2, b2)

    def step_fn(x, y, ps):
        loss = mlp_loss(x, y, *ps)
        for t in ps:
            t.grad = None
        loss.backward()
        with torch.no_grad():
            for t in ps:
                t.add_(t.grad, alpha=-LR)

    for line in sys.stdin:
        cmd = line.split()
        try:
            if not cmd or cmd[0] == "quit":
                break
            if cmd[0] == "loss":
                with torch.no_grad():
                    print("ok %.17g" % float(gc_fn(*params)), flush=True)
            elif cmd[0] == "gradcheck":
                fast = cmd[1] == "fast"
                inp = gc_inputs()

                def run():
                    if not torch.autograd.gradcheck(gc_fn, inp, fast_mode=fast):
                        raise RuntimeError("gradcheck failed")
                print("ok %.9g" % time_it(run, 0.2, 3), flush=True)
            elif cmd[0] == "step":
                if cmd[1] == "small":
                    x, y = xt, yt
                    ps = [t.clone().requires_grad_(True) for t in params]
                else:
                    dt = torch.float32 if cmd[1] == "big32" else torch.float64
                    g = torch.Generator().manual_seed(1)
                    x = torch.randn(256, 3072, generator=g, dtype=dt)
                    y = torch.randint(0, 10, (256,), generator=g)
                    ps = [(torch.randn(3072, 100, generator=g, dtype=dt) * (2 / 3072) ** 0.5),
                          torch.zeros(100, dtype=dt),
                          (torch.randn(100, 10, generator=g, dtype=dt) * 0.1),
                          torch.zeros(10, dtype=dt)]
                    ps = [t.requires_grad_(True) for t in ps]
                print("ok %.9g" % time_it(lambda: step_fn(x, y, ps), 0.1, 5), flush=True)
            else:
                print("err unknown command %s" % cmd[0], flush=True)
        except Exception as e:  # one line back, never a traceback on the pipe
            print("err %s" % str(e).replace("\n", " "), flush=True)


if __name__ == "__main__":
    main()
