"""The local stack: provider emulator, AWS on loopback (moto), local API, demo and benchmark."""
