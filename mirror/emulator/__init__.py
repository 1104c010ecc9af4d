"""A local emulator of Contentful's Sync API, the server side of this project.

It shares only the schemas and the wire format (`mirror.wire`) with the client.
"""

from mirror.emulator.server import Emulator, EmulatorConfig

__all__ = ["Emulator", "EmulatorConfig"]
