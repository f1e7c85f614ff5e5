"""A Flower client, written for Flower and left exactly as it was (compare Flower's
quickstart-pytorch `task.py` + `client_app.py`): fedledger runs it unchanged.

Start from the repository root with one command:

    fedledger demo --task examples.flower_client.client:client_fn --participants 4 --rounds 3

The only Flower API used is `NumPyClient` (get_parameters, fit, evaluate) and a
`client_fn(context)` reading `partition-id` / `num-partitions` from `context.node_config`;
the `ClientApp` at the bottom is what `flwr run` would use and fedledger ignores.
"""

from collections import OrderedDict

import numpy as np
import torch
from flwr.client import ClientApp, NumPyClient
from flwr.common import Context
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    """A small MLP for the 13 wine measurements, 3 cultivars."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(13, 32)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def load_data(partition_id: int, num_partitions: int):
    """An IID share of the wine data: 80% to train on, 20% to validate on."""
    data = load_wine()
    X = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
    order = np.random.default_rng(42).permutation(len(X))
    part = np.array_split(order, num_partitions)[partition_id]
    X_tr, X_val, y_tr, y_val = train_test_split(
        X[part], data.target[part], test_size=0.2, random_state=42
    )

    def loader(X, y, shuffle):
        ds = TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y))
        return DataLoader(ds, batch_size=16, shuffle=shuffle)

    return loader(X_tr, y_tr, True), loader(X_val, y_val, False)


def train(net, trainloader, epochs):
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    net.train()
    running_loss = 0.0
    for _ in range(epochs):
        for X, y in trainloader:
            optimizer.zero_grad()
            loss = criterion(net(X), y)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
    return running_loss / (epochs * len(trainloader))


def test(net, testloader):
    criterion = nn.CrossEntropyLoss()
    correct, loss = 0, 0.0
    net.eval()
    with torch.no_grad():
        for X, y in testloader:
            outputs = net(X)
            loss += criterion(outputs, y).item()
            correct += (outputs.argmax(1) == y).sum().item()
    return loss / len(testloader), correct / len(testloader.dataset)


def get_weights(net):
    return [val.cpu().numpy() for _, val in net.state_dict().items()]


def set_weights(net, parameters):
    params_dict = zip(net.state_dict().keys(), parameters, strict=True)
    state_dict = OrderedDict({k: torch.tensor(v) for k, v in params_dict})
    net.load_state_dict(state_dict, strict=True)


class FlowerClient(NumPyClient):
    def __init__(self, net, trainloader, valloader, local_epochs):
        self.net = net
        self.trainloader = trainloader
        self.valloader = valloader
        self.local_epochs = local_epochs

    def get_parameters(self, config):
        return get_weights(self.net)

    def fit(self, parameters, config):
        set_weights(self.net, parameters)
        train_loss = train(self.net, self.trainloader, self.local_epochs)
        return get_weights(self.net), len(self.trainloader.dataset), {"train_loss": train_loss}

    def evaluate(self, parameters, config):
        set_weights(self.net, parameters)
        loss, accuracy = test(self.net, self.valloader)
        return loss, len(self.valloader.dataset), {"accuracy": accuracy}


def client_fn(context: Context):
    partition_id = context.node_config["partition-id"]
    num_partitions = context.node_config["num-partitions"]
    trainloader, valloader = load_data(partition_id, num_partitions)
    local_epochs = context.run_config.get("local-epochs", 2)
    return FlowerClient(Net(), trainloader, valloader, local_epochs).to_client()


app = ClientApp(client_fn=client_fn)
