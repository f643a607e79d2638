#!/usr/bin/python3
"""Modbus RTU slave for praxisgate's driver tests.

Runs pymodbus (Debian's python3-pymodbus), an implementation independent of
the Go library the driver uses, on one end of a pseudo-terminal pair.
Usage: rtu_peer.py PORT UNIT JSON, where JSON is
{"holding": {"ADDR": [WORDS...]}, "input": {...}} with zero-based addresses.
Prints "ready" once the port is open.
"""
import asyncio
import json
import sys

from pymodbus.datastore import (ModbusServerContext, ModbusSlaveContext,
                                ModbusSparseDataBlock)
from pymodbus.server.async_io import ModbusSerialServer
from pymodbus.transaction import ModbusRtuFramer


async def main():
    port, unit, spec = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    tables = {}
    for name in ("holding", "input"):
        tables[name] = ModbusSparseDataBlock(
            {int(a): w for a, w in spec.get(name, {}).items()} or {0: [0]})
    slave = ModbusSlaveContext(hr=tables["holding"], ir=tables["input"],
                               zero_mode=True)
    ctx = ModbusServerContext(slaves={unit: slave}, single=False)
    server = ModbusSerialServer(ctx, ModbusRtuFramer, port=port,
                                baudrate=9600, stopbits=2, parity="N")
    await server.start()
    if server.transport is None:
        print("cannot open " + port, flush=True)
        sys.exit(1)
    print("ready", flush=True)
    while True:
        await asyncio.sleep(3600)


asyncio.run(main())
