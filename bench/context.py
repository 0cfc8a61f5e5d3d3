"""What every workload gets: the server, a token, a direct engine for the baselines, the history's shape."""

import random
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine

from bench.generate import Shape


@dataclass
class Context:
    engine_name: str
    url: str  # the service's base URL
    token: str
    engine: Engine  # a direct connection for the bare-SQL baselines, in the bench process
    shape: Shape
    quick: bool
    rng: random.Random
    server_pid: int
    db_url: str  # for a workload that starts servers of its own (several workers)

    def client(self) -> httpx.Client:
        """A keep-alive client like a lab script's."""
        return httpx.Client(
            base_url=self.url + "/api/v1", headers={"Authorization": f"Bearer {self.token}"}, timeout=600
        )
