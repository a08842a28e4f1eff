"""One emulator process for the whole emulator test session, reset to the demo data before each test that asks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dataverse_emulator.testing import EmulatorSession, RunningEmulator, demo_seed, start_emulator


@pytest.fixture(scope="session")
def emulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    emu = start_emulator(tmp_path_factory.mktemp("emulator"))
    yield emu
    emu.stop()


@pytest.fixture
def emu(emulator_process: RunningEmulator) -> RunningEmulator:
    """The shared emulator with the demo data, default configuration and an empty request log."""
    emulator_process.reset_config()
    emulator_process.reset("default")
    return emulator_process


@pytest.fixture
def api(emu: RunningEmulator) -> EmulatorSession:
    """An authenticated Web API session (token from the client-secret flow)."""
    return emu.api_session()


@pytest.fixture(scope="session")
def demo() -> dict[str, Any]:
    return demo_seed()
