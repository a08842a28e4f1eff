"""Tests of the local Dataverse emulator (a package, so its conftest does not shadow others named ``conftest``)."""
