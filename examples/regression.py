"""Fit ``y = sin(3x) + noise`` with a small network, ``nn.MSELoss``, Adam and
``ReduceLROnPlateau``: tensor creation, element-wise math and a validation split.

The same file runs under PyTorch with ``numnet`` replaced by ``torch`` in its import lines;
``tests/test_examples.py`` does exactly that and compares the two runs.

    python examples/regression.py --steps 600
"""

import argparse
import json

import numnet as torch
import numnet.nn as nn
from numnet.optim.lr_scheduler import ReduceLROnPlateau


class Net(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.hidden = nn.Linear(1, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


def main():
    parser = argparse.ArgumentParser(description="1-D regression")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    x = torch.linspace(-1, 1, 200).unsqueeze(1)
    y = torch.sin(3 * x) + 0.05 * torch.randn_like(x)
    permutation = torch.randperm(200)
    train_index, val_index = permutation[:160], permutation[160:]

    model = Net()
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    scheduler = ReduceLROnPlateau(optimizer, factor=0.5, patience=20)
    for step in range(args.steps):
        model.train()
        optimizer.zero_grad()
        loss = criterion(model(x[train_index]), y[train_index])
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = criterion(model(x[val_index]), y[val_index]).item()
        scheduler.step(val_loss)
        if step % 100 == 0:
            print(f"step {step}: train {loss.item():.5f}, val {val_loss:.5f}")
    residual = (model(x) - torch.sin(3 * x)).abs().max().item()
    print(json.dumps({"val_loss": val_loss, "max_residual": residual,
                      "lr": optimizer.param_groups[0]["lr"]}))


if __name__ == "__main__":
    main()
