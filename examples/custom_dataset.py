"""An MLP on the digits through a user's own ``Dataset``, ``DataLoader(num_workers=2)``,
``nn.CrossEntropyLoss`` and SGD with momentum: the shape of most PyTorch tutorials.

The same file runs under PyTorch with ``numnet`` replaced by ``torch`` in its import lines;
``tests/test_examples.py`` does exactly that and compares the two runs.

    python examples/custom_dataset.py --epochs 5
"""

import argparse
import json

import numpy
from sklearn.datasets import load_digits

import numnet as torch
import numnet.nn as nn
from numnet.optim.lr_scheduler import StepLR
from numnet.utils.data import DataLoader, Dataset, random_split


class DigitsDataset(Dataset):
    """One (image, label) pair per item: a (64,) float tensor and an int."""

    def __init__(self, noise=0.0):
        digits = load_digits()
        self.images = (digits.data / 16.0).astype(numpy.float32)
        self.labels = digits.target
        self.noise = noise

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image = torch.from_numpy(self.images[index])
        if self.noise:
            image = image + self.noise * torch.randn_like(image)
        return image, int(self.labels[index])


def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            pred = model(images).argmax(1)
            correct += (pred == labels).sum().item()
            total += labels.size(0)
    return correct / total


def main():
    parser = argparse.ArgumentParser(description="digits MLP with a custom Dataset")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dataset = DigitsDataset(noise=0.05)
    train_set, test_set = random_split(dataset, [1500, len(dataset) - 1500],
                                       generator=torch.Generator().manual_seed(args.seed))
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True,
                              num_workers=args.workers)
    test_loader = DataLoader(test_set, batch_size=100, num_workers=args.workers)

    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
    for epoch in range(args.epochs):
        model.train()
        running = 0.0
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            running += loss.item() * labels.size(0)
        scheduler.step()
        accuracy = evaluate(model, test_loader, device)
        print(f"epoch {epoch + 1}: loss {running / len(train_set):.4f}, "
              f"accuracy {accuracy:.3f}, lr {scheduler.get_last_lr()[0]:.4f}")
    print(json.dumps({"loss": running / len(train_set), "accuracy": accuracy}))


if __name__ == "__main__":
    main()
