"""The baseline app for step logging: a bare FastAPI endpoint that echoes the JSON it gets."""

from typing import Any

from fastapi import Body, FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/readyz")
    def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/echo", status_code=201)
    def echo(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return body

    return app
