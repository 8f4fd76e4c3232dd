"""Modbus TCP: a point store served as Modbus devices, and a client that reads and writes a map's points.

The protocol facts this module stands on (MODBUS Application Protocol Specification v1.1b3, and MODBUS
Messaging on TCP/IP Implementation Guide v1.0b for the unit id):

* Four tables, each with its own 0-based addresses 0-65535: coils (read/write bits; function codes 0x01 Read
  Coils, 0x05 Write Single Coil, 0x0F Write Multiple Coils), discrete inputs (read-only bits, 0x02), holding
  registers (read/write 16-bit words; 0x03 Read Holding Registers, 0x06 Write Single Register, 0x10 Write
  Multiple Registers) and input registers (read-only words, 0x04 Read Input Registers). A read asks for 1-125
  registers (spec 6.3, 6.4) or 1-2000 coils (6.1).
* A register is a 16-bit word sent most significant byte first (spec 4.2). Anything wider, and the order of
  two words of a 32-bit value, is the device's convention: ``byte_order`` and ``word_order`` of a point say
  which (both ``big``: the bytes of an IEEE 754 float32 in network order, the most common layout).
* One TCP server can stand for several devices (a gateway, or a controller hosting several units): each
  request carries a unit id (1-247) that picks the device.
* A server refuses a request with an exception response, the function code with its high bit set and an
  exception code (spec 7): 0x01 ILLEGAL FUNCTION, 0x02 ILLEGAL DATA ADDRESS (an address the server does not
  have, or one it does not let be written), 0x03 ILLEGAL DATA VALUE (a value it does not accept), 0x04 SERVER
  DEVICE FAILURE.
* There are no priorities and no "null" (BACnet's relinquish): a setpoint the agent commands has an enable
  coil, as a CRAC controller's "remote setpoint enable" does; 1 makes the controller follow the setpoint
  register, 0 gives control back to its own sequence. So :meth:`ModbusClient.write` writes the register and
  then sets the coil, :meth:`ModbusClient.relinquish` clears the coil, and the priority that both take (the
  BACnet client's signature) goes nowhere on the wire.

:class:`ModbusServer` serves a :class:`~greendc.bms.store.PointStore` with the store as the only truth: every
read encodes the store's present value at that moment (nothing is cached, so the store's changes from the
building's thread need no marshalling onto the server's loop), a write becomes a write to the store at the
agent's priority, and an enable coil reads 1 exactly while the store holds a command at the agent's priority
(so after the building's watchdog relinquished the agent's commands, the coil reads 0). A setpoint's ``min``
and ``max`` are the agent's bounds, not the server's: it takes any finite value the registers hold.

It is built on pymodbus's ``SimDevice``/``SimData`` datastore (the one that stays in pymodbus 4;
``ModbusServerContext``, ``ModbusDeviceContext`` and the data blocks are deprecated) with an ``action`` hook
that fills the registers from the store before each read and hands each write to the store, refusing it with
an exception code when the store does. What that hook is told shapes the code: the function code but not the
table (so the table is told from the function code), and for coils the request's first coil but a count of
16-coil words (so a coil read checks only its first coil). pymodbus answers an unknown unit id with SERVER
DEVICE FAILURE and an error log (its device lookup raises a ``KeyError``), so the server adds a unit-0
catch-all that answers ILLEGAL DATA ADDRESS.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from greendc.bms.points import Device, Point, PointMap
from greendc.bms.store import PointStore, WriteRejectedError
from greendc.errors import GreendcError, quoted

#: The most registers one read may ask for (spec 6.3 and 6.4: 1 to 125).
MAX_READ_REGISTERS = 125
#: The spec's names of the exception codes (spec 7), for messages.
EXCEPTION_NAMES = {
    0x01: "ILLEGAL FUNCTION", 0x02: "ILLEGAL DATA ADDRESS", 0x03: "ILLEGAL DATA VALUE",
    0x04: "SERVER DEVICE FAILURE", 0x05: "ACKNOWLEDGE", 0x06: "SERVER DEVICE BUSY", 0x08: "MEMORY PARITY ERROR",
    0x0A: "GATEWAY PATH UNAVAILABLE", 0x0B: "GATEWAY TARGET DEVICE FAILED TO RESPOND",
}

_STRUCT = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f"}
_INTEGER_RANGE = {"int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1),
                  "int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1)}
#: A float32 quiet NaN: what the server sends for a float32 point that has no value yet (as meters do for
#: a reading they do not have); the client reads it as None.
_NAN_BYTES = struct.pack(">f", math.nan)
#: The function codes of each table (pymodbus's action hook is told only the function code).
_COIL_CODES = frozenset([0x01, 0x05, 0x0F])
_DISCRETE_CODES = frozenset([0x02])
_INPUT_CODES = frozenset([0x04])


class DeviceUnreachableError(GreendcError):
    """A Modbus TCP server that does not accept a connection, or does not answer within the device's
    ``timeout_s``."""


class RegisterValueError(GreendcError, ValueError):
    """A value a point's registers cannot hold (out of its data type's range, or not a finite number), or
    words that are not the point's registers."""


class RequestRefusedError(GreendcError):
    """A request the Modbus server answered with an exception response (the message names the code), or a
    write of a point that is not a written holding register."""


# -- encoding ---------------------------------------------------------------------------------------------
def register_kind(point: Point) -> str:
    """``holding`` or ``input``: the table a point's registers are in (unset: holding if written)."""
    return point.register_kind or ("holding" if point.writable else "input")


def register_address(point: Point) -> int:
    """A Modbus point's first register (the map requires one for every point on a Modbus device)."""
    return point.register_address or 0


def register_count(point: Point) -> int:
    """How many 16-bit registers a point's data type takes."""
    return 2 if point.data_type.endswith("32") else 1


def encode_registers(value: float, point: Point) -> list[int]:
    """The registers holding ``value`` (in the point's unit): ``value / scale`` as the point's data type,
    rounded to the nearest integer for the integer types, in the point's byte and word order."""
    raw = value / point.scale
    if not math.isfinite(raw):
        raise RegisterValueError(f"{point.name}: {value!r} is not a finite number, which registers cannot hold")
    if point.data_type == "float32":
        try:
            data = struct.pack(">f", raw)
        except OverflowError:
            raise RegisterValueError(f"{point.name}: {value:g} {point.unit} is beyond the float32 range "
                                     f"(scale {point.scale:g})") from None
    else:
        integer = round(raw)
        low, high = _INTEGER_RANGE[point.data_type]
        if not low <= integer <= high:
            raise RegisterValueError(f"{point.name}: {value:g} {point.unit} is {integer} at scale {point.scale:g}, "
                                     f"outside the {point.data_type} range {low}..{high}")
        data = struct.pack(">" + _STRUCT[point.data_type], integer)
    return _words(data, point)


def decode_registers(words: list[int], point: Point) -> float:
    """The value (in the point's unit) that ``words``, read from the point's registers, hold."""
    if len(words) != register_count(point) or not all(0 <= word <= 0xFFFF for word in words):
        raise RegisterValueError(f"{point.name}: {quoted(words)} are not {register_count(point)} 16-bit registers")
    return _number(_bytes(words, point), point) * point.scale


def _words(data: bytes, point: Point) -> list[int]:
    """Big-endian bytes (most significant first) as the point's registers."""
    words = [data[i:i + 2] for i in range(0, len(data), 2)]
    if point.word_order == "little":
        words.reverse()
    return [int.from_bytes(word, point.byte_order) for word in words]


def _bytes(words: list[int], point: Point) -> bytes:
    """The point's registers as big-endian bytes: the inverse of :func:`_words`."""
    pairs = [word.to_bytes(2, point.byte_order) for word in words]
    if point.word_order == "little":
        pairs.reverse()
    return b"".join(pairs)


def _number(data: bytes, point: Point) -> float:
    return float(struct.unpack(">" + _STRUCT[point.data_type], data)[0])


def exception_text(code: int) -> str:
    """``ILLEGAL DATA ADDRESS (exception code 2)``."""
    return f"{EXCEPTION_NAMES.get(code, 'unknown exception')} (exception code {code})"


# -- server -----------------------------------------------------------------------------------------------
def modbus_addresses(point_map: PointMap) -> list[str]:
    """The ``host:port`` of each Modbus TCP server a map's devices are on, in the map's order."""
    return list(dict.fromkeys(d.address for d in point_map.devices.values() if d.protocol == "modbus"))


@dataclass
class _Table:
    """One register table of one unit: the points by first address, sorted, for finding overlaps."""

    starts: list[int] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)

    def add(self, point: Point) -> None:
        index = bisect.bisect(self.starts, register_address(point))
        self.starts.insert(index, register_address(point))
        self.points.insert(index, point)

    def overlapping(self, address: int, count: int) -> list[Point]:
        """The points with a register in ``address .. address + count - 1`` (a 32-bit point may start one
        register before it)."""
        first = bisect.bisect_left(self.starts, address - 1)
        last = bisect.bisect_left(self.starts, address + count)
        return [p for p in self.points[first:last] if register_address(p) + register_count(p) > address]


class _Unit:
    """One Modbus device (unit id) of a server: where its points are, and the pymodbus action that serves
    them from the store."""

    def __init__(self, device: Device, points: list[Point], store: PointStore) -> None:
        self.device, self.store = device, store
        self.tables = {"input": _Table(), "holding": _Table()}
        self.coils: dict[int, Point] = {}
        # The value last written to each setpoint's register, which setting its coil commands: a CRAC keeps
        # its remote setpoint register while the remote enable is off.
        self.last_written: dict[str, float] = {}
        for point in points:
            if register_address(point) + register_count(point) > 65536:
                raise GreendcError(f"{point.name}: its registers run past address 65535")
            self.tables[register_kind(point)].add(point)
            if point.enable_coil is not None:
                self.coils[point.enable_coil] = point

    def sim_device(self) -> SimDevice:
        """The pymodbus device: each point's registers as one SimData (addresses between are invalid, so
        pymodbus answers ILLEGAL DATA ADDRESS for them), and written ones the only writable registers."""
        registers = {kind: [SimData(register_address(p), values=[0] * register_count(p),
                                    datatype=DataType.REGISTERS, readonly=kind == "input" or not p.writable)
                            for p in table.points] or [SimData(0, datatype=DataType.INVALID)]
                     for kind, table in self.tables.items()}
        # pymodbus needs a block in each table; a unit without coils gets one the action refuses.
        coils = [SimData(c, values=False, datatype=DataType.BITS) for c in sorted(self.coils)] \
            or [SimData(0, values=False, datatype=DataType.BITS)]
        discrete = [SimData(0, values=False, datatype=DataType.BITS)]
        return SimDevice(self.device.unit_id or 0, simdata=(coils, discrete, registers["holding"],
                                                             registers["input"]), action=self.action)

    async def action(self, function_code: int, start_address: int, address: int, count: int,
                     registers: list[int], set_values: list[int] | list[bool] | None) -> ExcCodes | None:
        """pymodbus's hook, called after it checked the addresses and before it reads or writes
        ``registers`` (the whole table, first address ``start_address``); an exception code refuses."""
        if function_code in _DISCRETE_CODES:
            return ExcCodes.ILLEGAL_ADDRESS
        if function_code in _COIL_CODES:
            if set_values is None:
                return self._fill_coils(start_address, address, registers)
            return self._write_coils(address, [bool(v) for v in set_values])
        kind = "input" if function_code in _INPUT_CODES else "holding"
        if set_values is not None:
            return self._write_registers(address, [int(v) for v in set_values])
        if function_code == 0x06:
            return None  # the echo of a Write Single Register (spec 6.6): the value just written, not re-read
        return self._fill_registers(self.tables[kind], start_address, address, count, registers)

    def _fill_registers(self, table: _Table, start_address: int, address: int, count: int,
                        registers: list[int]) -> ExcCodes | None:
        for point in table.overlapping(address, count):
            value = self.store.read_wire(point.name)
            if value is None and point.data_type != "float32":
                return ExcCodes.DEVICE_FAILURE  # an integer register has no "no value"; float32 sends NaN
            try:
                words = _words(_NAN_BYTES, point) if value is None else encode_registers(value, point)
            except RegisterValueError:
                return ExcCodes.DEVICE_FAILURE  # the building's value does not fit the point's registers
            offset = register_address(point) - start_address
            registers[offset:offset + len(words)] = words
        return None

    def _write_registers(self, address: int, values: list[int]) -> ExcCodes | None:
        points = self.tables["holding"].overlapping(address, len(values))
        decoded: list[tuple[Point, float]] = []
        for point in points:
            offset = register_address(point) - address
            if offset < 0 or offset + register_count(point) > len(values):
                return ExcCodes.ILLEGAL_ADDRESS  # half of a 32-bit value cannot be written on its own
            value = decode_registers(values[offset:offset + register_count(point)], point)
            if not math.isfinite(value):
                return ExcCodes.ILLEGAL_VALUE
            decoded.append((point, value))
        for point, value in decoded:
            try:
                if point.enable_coil is None:  # the heartbeat: no coil, straight to the store
                    self.store.write_wire(point.name, value, self.store.agent_priority)
                    continue
                self.last_written[point.name] = value
                if self._commanded(point):
                    self.store.write_wire(point.name, value, self.store.agent_priority)
            except WriteRejectedError:
                return ExcCodes.ILLEGAL_VALUE
        return None

    def _write_coils(self, address: int, values: list[bool]) -> ExcCodes | None:
        points = [self.coils.get(coil) for coil in range(address, address + len(values))]
        if any(point is None for point in points):
            return ExcCodes.ILLEGAL_ADDRESS
        for point, on in zip(points, values, strict=True):
            assert point is not None
            value = None
            if on:
                value = self.last_written.get(point.name, self.store.read_wire(point.name))
                if value is None:
                    return ExcCodes.ILLEGAL_VALUE  # nothing written and nothing the building holds to command
            try:
                self.store.write_wire(point.name, value, self.store.agent_priority)
            except WriteRejectedError:
                return ExcCodes.ILLEGAL_VALUE
        return None

    def _fill_coils(self, start_address: int, address: int, registers: list[int]) -> ExcCodes | None:
        # pymodbus tells a coil read's first coil but not how many (``count`` is 16-coil words), so only the
        # first is checked; unmapped coils after it read 0.
        if address not in self.coils:
            return ExcCodes.ILLEGAL_ADDRESS
        for coil, point in self.coils.items():
            word, bit = coil // 16 - start_address, coil % 16
            if self._commanded(point):
                registers[word] |= 1 << bit
            else:
                registers[word] &= ~(1 << bit) & 0xFFFF
        return None

    def _commanded(self, point: Point) -> bool:
        return self.store.priority_array(point.name)[self.store.agent_priority - 1] is not None


class ModbusServer:
    """One Modbus TCP server on ``address`` serving each Modbus device of the map there by its unit id.

    ``address`` may be left out when the map's Modbus devices share one. Use ``async with`` or
    :meth:`start` and :meth:`close`. A request for a unit id the map does not have is answered ILLEGAL DATA
    ADDRESS (a catch-all device; a map device with unit id 0 would itself be pymodbus's catch-all)."""

    def __init__(self, point_map: PointMap, store: PointStore, address: str | None = None) -> None:
        addresses = modbus_addresses(point_map)
        if address is None:
            if len(addresses) != 1:
                raise GreendcError(f"the point map has {len(addresses)} Modbus addresses; name the one to serve")
            address = addresses[0]
        self.address = address
        self.host, self.port = address.rsplit(":", 1)[0].strip("[]"), int(address.rsplit(":", 1)[1])
        self.units = [_Unit(device, [p for p in point_map.points if p.device == name], store)
                      for name, device in point_map.devices.items()
                      if device.protocol == "modbus" and device.address == address]
        if not self.units:
            raise GreendcError(f"the point map has no Modbus device at {address}")
        unit_ids = [unit.device.unit_id or 0 for unit in self.units]
        if len(set(unit_ids)) < len(unit_ids):
            raise GreendcError(f"two Modbus devices at {address} have the same unit id; each needs its own")
        self._server: ModbusTcpServer | None = None

    async def start(self) -> None:
        devices = [unit.sim_device() for unit in self.units]
        if all(device.id != 0 for device in devices):
            devices.append(SimDevice(0, simdata=([SimData(0, values=False, datatype=DataType.BITS)],
                                                 [SimData(0, values=False, datatype=DataType.BITS)],
                                                 [SimData(0, datatype=DataType.INVALID)],
                                                 [SimData(0, datatype=DataType.INVALID)]),
                                     action=_refuse_all))
        server = ModbusTcpServer(devices, address=(self.host, self.port))
        try:
            await server.serve_forever(background=True)
        except RuntimeError:  # pymodbus logs the OSError and raises this instead
            raise GreendcError(f"cannot listen for Modbus TCP on {self.address} (in use, or not an address of "
                               "this machine)") from None
        self._server = server

    async def close(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    async def __aenter__(self) -> ModbusServer:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.close()


async def _refuse_all(*_request: Any) -> ExcCodes:
    return ExcCodes.ILLEGAL_ADDRESS


# -- client -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Read:
    """One read request: contiguous registers of one table of one device."""

    device: Device
    kind: str
    start: int
    count: int
    points: tuple[Point, ...]


def read_requests(points: Iterable[Point], devices: dict[str, Device]) -> list[_Read]:
    """``points`` as the fewest reads: per device and table, runs of contiguous registers of at most
    :data:`MAX_READ_REGISTERS` (a gap would read addresses the device may not have)."""
    by_table: dict[tuple[str, str], list[Point]] = {}
    for point in points:
        by_table.setdefault((point.device, register_kind(point)), []).append(point)
    reads: list[_Read] = []
    for (device, kind), table in by_table.items():
        run: list[Point] = []
        for point in sorted(table, key=register_address):
            if run:
                start, end = register_address(run[0]), register_address(run[-1]) + register_count(run[-1])
                if register_address(point) != end or end + register_count(point) - start > MAX_READ_REGISTERS:
                    reads.append(_read_of(devices[device], kind, run))
                    run = []
            run.append(point)
        reads.append(_read_of(devices[device], kind, run))
    return reads


def _read_of(device: Device, kind: str, run: list[Point]) -> _Read:
    start = register_address(run[0])
    return _Read(device, kind, start, register_address(run[-1]) + register_count(run[-1]) - start, tuple(run))


class ModbusClient:
    """Reads and writes a map's Modbus points, over one connection per Modbus TCP server (``async with``).

    :meth:`read` never raises for the wire: a point it could not read is None, with the reason in
    :attr:`last_errors`. :meth:`write` and :meth:`relinquish` raise :class:`DeviceUnreachableError` (no
    connection, or no answer within the device's ``timeout_s``) and :class:`RequestRefusedError` (an exception
    response). Entering connects to every server and raises :class:`DeviceUnreachableError` for one that
    does not accept a connection within its devices' ``timeout_s``."""

    def __init__(self, point_map: PointMap) -> None:
        self.point_map = point_map
        self.devices = {n: d for n, d in point_map.devices.items() if d.protocol == "modbus"}
        #: Each point of the last :meth:`read` that came back None, and why.
        self.last_errors: dict[str, str] = {}
        self._clients: dict[str, AsyncModbusTcpClient] = {}
        self._connecting: dict[str, asyncio.Lock] = {}  # one (re)connection at a time per server

    async def __aenter__(self) -> ModbusClient:
        await self.open()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect to every Modbus TCP server of the map (the BACnet client's ``open``)."""
        try:
            await asyncio.gather(*(self._connected(address) for address in modbus_addresses(self.point_map)))
        except DeviceUnreachableError:
            await self.close()
            raise

    async def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    async def read(self, points: Iterable[Point]) -> dict[str, float | None]:
        """Each point's value in the registry's unit (C, W, %), None for one that could not be read."""
        points = list(points)
        values: dict[str, float | None] = dict.fromkeys((p.name for p in points), None)
        self.last_errors = {}
        modbus = [p for p in points if p.device in self.devices and p.register_address is not None]
        if len(modbus) < len(points):
            names = {p.name for p in modbus}
            self.last_errors.update({p.name: f"{p.name} is not a Modbus point of this map" for p in points
                                     if p.name not in names})
        by_address: dict[str, list[_Read]] = {}
        for request in read_requests(modbus, self.devices):
            by_address.setdefault(request.device.address, []).append(request)
        # Servers are read at once; one connection's requests go one after another (pymodbus's lock).
        await asyncio.gather(*(self._read_all(reads, values) for reads in by_address.values()))
        return values

    async def write(self, point: Point, value_registry_unit: float, priority: int) -> None:
        """Command a value (in the registry's unit): the setpoint's register, then its enable coil to 1.
        Modbus has no priorities: ``priority`` is taken for the BACnet client's signature and not sent."""
        _ = priority
        device = self._device_of(point)
        if not point.writable or register_kind(point) != "holding":
            raise RequestRefusedError(f"{point.name} is not a written holding register")
        words = encode_registers(point.from_registry_unit(value_registry_unit), point)
        address, unit = register_address(point), device.unit_id or 0
        if len(words) == 1:
            await self._request(device, f"writing {point.name}",
                                lambda c: c.write_register(address, words[0], device_id=unit))
        else:
            await self._request(device, f"writing {point.name}",
                                lambda c: c.write_registers(address, words, device_id=unit))
        if point.enable_coil is not None:
            await self._set_coil(device, point, True)

    async def relinquish(self, point: Point, priority: int) -> None:
        """Give the setpoint back to the device's own control: its enable coil to 0. ``priority`` is not
        sent (Modbus has none); a point without a coil (the heartbeat) has nothing to give back."""
        _ = priority
        device = self._device_of(point)
        if point.enable_coil is not None:
            await self._set_coil(device, point, False)

    async def command_enabled(self, point: Point) -> bool:
        """Whether a setpoint's enable coil is 1: the device follows the agent's command (0 after the
        building's watchdog gave control back)."""
        device = self._device_of(point)
        if point.enable_coil is None:
            raise RequestRefusedError(f"{point.name} has no enable coil")
        coil, unit = point.enable_coil, device.unit_id or 0
        response = await self._request(device, f"reading the enable coil of {point.name}",
                                       lambda c: c.read_coils(coil, count=1, device_id=unit))
        return bool(response.bits[0])

    # -- inside ---------------------------------------------------------------------------------------
    def _device_of(self, point: Point) -> Device:
        device = self.devices.get(point.device)
        if device is None:
            raise RequestRefusedError(f"{point.name} is not a Modbus point of this map")
        return device

    async def _connected(self, address: str) -> AsyncModbusTcpClient:
        """The connection to ``address``, made (again, after it dropped) if need be."""
        timeout = max(d.timeout_s for d in self.devices.values() if d.address == address)
        client = self._clients.get(address)
        if client is None:
            host, port = address.rsplit(":", 1)
            # retries=0 and no background reconnection: a request's time is bounded by the device's
            # timeout, and reconnection happens here, when the next request needs it.
            client = AsyncModbusTcpClient(host.strip("[]"), port=int(port), timeout=timeout, retries=0,
                                          reconnect_delay=0)
            self._clients[address] = client
        async with self._connecting.setdefault(address, asyncio.Lock()):
            if not client.connected:
                try:
                    connected = await asyncio.wait_for(client.connect(), timeout)
                except TimeoutError:
                    connected = False
                if not connected:
                    raise DeviceUnreachableError(f"Modbus TCP server {address} did not accept a connection "
                                                 f"within {timeout:g} s")
        return client

    async def _request(self, device: Device, what: str,
                       call: Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]]) -> ModbusPDU:
        """One request, answered within the device's timeout; raises for no answer or an exception code."""
        client = await self._connected(device.address)
        try:
            response = await asyncio.wait_for(call(client), device.timeout_s)
        except (TimeoutError, ModbusException) as error:
            raise DeviceUnreachableError(f"{what}: unit {device.unit_id} at {device.address} did not answer "
                                         f"within {device.timeout_s:g} s ({error})") from None
        if response.isError():
            raise RequestRefusedError(f"{what}: unit {device.unit_id} at {device.address} answered "
                                      f"{exception_text(response.exception_code)}")
        return response

    async def _set_coil(self, device: Device, point: Point, on: bool) -> None:
        coil, unit = point.enable_coil or 0, device.unit_id or 0
        await self._request(device, f"setting the enable coil of {point.name} to {int(on)}",
                            lambda c: c.write_coil(coil, on, device_id=unit))

    async def _read_all(self, reads: list[_Read], values: dict[str, float | None]) -> None:
        """The reads of one server, one after another, into ``values``."""
        for index, request in enumerate(reads):
            failure = await self._read_one(request, values)
            if isinstance(failure, DeviceUnreachableError):
                # The server is gone: its other reads would each wait out the timeout for nothing.
                for later in reads[index + 1:]:
                    self.last_errors.update(dict.fromkeys((p.name for p in later.points), str(failure)))
                return
            if failure is not None and len(request.points) > 1:
                # The device refused the run: read its points one by one, so that one bad address costs
                # only its own point.
                for point in request.points:
                    await self._read_one(_read_of(request.device, request.kind, [point]), values)

    async def _read_one(self, request: _Read, values: dict[str, float | None]) -> GreendcError | None:
        """One read into ``values``, or its points' reason into :attr:`last_errors` and the error back."""
        device, unit = request.device, request.device.unit_id or 0
        table = "input registers" if request.kind == "input" else "holding registers"
        where = f"{table} {request.start}-{request.start + request.count - 1} of unit {unit} at {device.address}"
        start, count = request.start, request.count

        def call(client: AsyncModbusTcpClient) -> Awaitable[ModbusPDU]:
            reader = client.read_input_registers if request.kind == "input" else client.read_holding_registers
            return reader(start, count=count, device_id=unit)

        try:
            response = await self._request(device, f"reading {where}", call)
        except (DeviceUnreachableError, RequestRefusedError) as error:
            self.last_errors.update(dict.fromkeys((p.name for p in request.points), str(error)))
            return error
        for point in request.points:
            offset = register_address(point) - start
            value = decode_registers(response.registers[offset:offset + register_count(point)], point)
            if math.isfinite(value):
                values[point.name] = point.to_registry_unit(value)
                self.last_errors.pop(point.name, None)
            else:
                self.last_errors[point.name] = f"{point.name}: the device reports no value ({value})"
        return None
