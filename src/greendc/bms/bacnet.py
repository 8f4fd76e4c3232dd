"""BACnet/IP (ASHRAE 135): a device that serves a point store, and the client the agent reads and writes with.

The protocol facts this module stands on:

* BACnet/IP (Annex J) carries each message in one UDP datagram, to port 47808 by default. A device is one UDP
  address; it answers a confirmed request (ReadProperty, ReadPropertyMultiple, WriteProperty, SubscribeCOV)
  with an acknowledgement, or with an Error naming an error class and code, a Reject or an Abort (clause 18).
* Each point is one object, named by its type and instance (clause 12): an analog-input for a sensor the
  building measures, an analog-value or analog-output for a setpoint. ``objectName`` is the point's name and
  ``units`` its engineering unit (clause 21, BACnetEngineeringUnits).
* A commandable object's ``presentValue`` is written at a priority 1-16 (clause 19.2): the value goes into
  that slot of its ``priorityArray``, writing Null empties the slot ("relinquish"), and the present value is
  the highest-priority non-empty slot or, when all are empty, ``relinquishDefault``. A write without a
  priority is at 16 (clause 19.2.1). Here the point store (:mod:`greendc.bms.store`) *is* that priority array:
  every write goes to the store and every read comes from it; the objects only mirror it, so that the
  change-of-value machinery sees the changes.
* Change of value (clauses 13.1 and 13.14): a client subscribes to an object for a lifetime in seconds, and
  renews before it ends; the device notifies it at once and then at each change of ``presentValue`` by
  ``covIncrement`` or more (0 here: every change), confirmed or unconfirmed as the client asked.
* ``presentValue`` is a REAL, IEEE 754 single precision (clause 20.2.6): about 7 significant digits, so 123456 W
  served as 123.456 kW reads back within a millionth; the clock's minutes stay exact integers up to 2**24
  (31 years).
* An analog object has no null present value: a point with nothing published yet answers NaN, with
  ``reliability`` unreliable-other, so that its ``statusFlags`` say FAULT (clause 12.2); the client reads
  NaN as "no value".
* A ReadPropertyMultiple answer must fit the client's maximum APDU (1024 octets by default) unless both
  sides segment (clause 5.2); the client asks for at most :data:`RPM_BATCH` objects per request so that no
  answer needs segmenting.

The server and the client are each a bacpypes3 application (IPv4 only) on a UDP socket this module binds
itself (see :func:`_bound_socket`); the client takes an ephemeral port by default, so that servers and clients
live in one process and one event loop without colliding. One application could serve and read at once, but
bacpypes3 short-circuits a request to its own 127.x address and port inside the stack, so a test of one
application would not test the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bacpypes3.apdu import AbortPDU, AbortReason, ErrorRejectAbortNack, SubscribeCOVRequest, WritePropertyRequest
from bacpypes3.app import Application
from bacpypes3.appservice import ApplicationServiceAccessPoint
from bacpypes3.basetypes import EngineeringUnits, OptionalUnsigned, PriorityValue, PropertyIdentifier, Reliability
from bacpypes3.comm import bind
from bacpypes3.constructeddata import ArrayOf
from bacpypes3.errors import PropertyError
from bacpypes3.ipv4.link import NormalLinkLayer
from bacpypes3.local.cov import COVIncrementCriteria, monitor_filter
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.object import Object as LocalObject
from bacpypes3.netservice import NetworkServiceAccessPoint, NetworkServiceElement
from bacpypes3.object import AnalogInputObject, AnalogOutputObject, AnalogValueObject
from bacpypes3.pdu import Address, IPv4Address
from bacpypes3.primitivedata import Null, ObjectIdentifier, Real
from bacpypes3.service.cov import SubscriptionContextManager

from greendc.bms.points import Device, Point
from greendc.bms.store import PRIORITY_SLOTS, PointStore, WriteRejectedError
from greendc.errors import GreendcError, plain_text

#: The engineering unit (clause 21) of each unit a point may be in; relative humidity is told apart below.
ENGINEERING_UNITS: dict[str, EngineeringUnits] = {
    "degC": EngineeringUnits.degreesCelsius,
    "degF": EngineeringUnits.degreesFahrenheit,
    "W": EngineeringUnits.watts,
    "kW": EngineeringUnits.kilowatts,
    "percent": EngineeringUnits.percent,
    "count": EngineeringUnits.noUnits,
    "min": EngineeringUnits.minutes,
}
#: The priority of a write that names none (clause 19.2.1).
UNPRIORITIZED_WRITE = PRIORITY_SLOTS
#: The most objects one ReadPropertyMultiple asks for: an answer of about 16 octets an object stays well inside
#: the 1024-octet APDU both sides accept by default, so no answer is segmented.
RPM_BATCH = 50
#: The client's own device instance (every BACnet application is a device; the largest valid instance is the
#: one a building's devices are least likely to use).
CLIENT_DEVICE_INSTANCE = 4_194_302
#: Each request is sent at most this many times within the device's timeout (one resend of a lost datagram).
SENDS_PER_REQUEST = 2

_PRESENT_VALUE = PropertyIdentifier("presentValue")  # an instance: bacpypes3's class attributes are ints

ValueCallback = Callable[[str, float | None], None]


class DeviceUnreachableError(GreendcError):
    """A BACnet device that did not answer within its ``timeout_s``."""


class BacnetBindError(GreendcError):
    """A UDP address a BACnet application cannot bind: the port is in use, or the host is not this machine's."""


class BacnetRequestError(GreendcError):
    """A request the device answered with an Error, a Reject or an Abort (such as an unknown object)."""


class SubscriptionRefusedError(BacnetRequestError):
    """A SubscribeCOV the device refused (an unknown object, or one without COV)."""


def engineering_units(point: Point) -> EngineeringUnits:
    """The BACnet engineering unit of a point's unit."""
    if point.unit == "percent" and "relative_humidity" in point.column:
        return EngineeringUnits.percentRelativeHumidity
    return ENGINEERING_UNITS[point.unit]


def object_identifier(point: Point) -> ObjectIdentifier:
    return ObjectIdentifier(f"{point.object_type},{point.instance}")


# -- the stack -----------------------------------------------------------------------------------------------
def _bound_socket(host: str, port: int) -> socket.socket:
    """A UDP socket bound to ``host:port`` (port 0: one the OS picks).

    bacpypes3 binds its own sockets with SO_REUSEPORT and retries a failed bind every second, forever: a second
    server on a port in use would silently take half its datagrams, and a wrong host would hang. Binding here
    fails at once instead."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise BacnetBindError(f"cannot bind UDP {host}:{port} for BACnet/IP: {error.strerror or error}") from None
    sock.setblocking(False)
    return sock


class _Stack(Application):
    """A normal (neither foreign device nor BBMD) BACnet/IP application on a socket bound by :func:`_bound_socket`:
    bacpypes3's NormalApplication, with the socket passed down to the link layer (NormalApplication takes a
    ``bind_socket`` but, in 0.0.110, does not pass it on)."""

    def __init__(self, device_object: DeviceObject, sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        self.address = IPv4Address(f"{host}:{port}")
        Application.__init__(self)
        self.asap = ApplicationServiceAccessPoint(device_object, self.device_info_cache)
        self.nsap = NetworkServiceAccessPoint()
        self.nse = NetworkServiceElement()
        bind(self.nse, self.nsap)
        bind(self, self.asap, self.nsap)
        self.normal = NormalLinkLayer(self.address, bind_socket=sock)
        self.nsap.bind(self.normal, address=self.address)
        self.add_object(device_object)

    async def ready(self) -> None:
        """Wait until the socket is in the loop (bacpypes3 attaches it in a task of its own; closing before then
        would leave the socket open)."""
        await self.normal.server._local_transport_ready.wait()

    async def aclose(self) -> None:
        self.normal.close()
        super().close()
        await asyncio.sleep(0)  # the transport closes its socket in the next turn of the loop

    async def confirmation(self, apdu: Any) -> None:
        """An answer to one of this application's requests. A request whose wait has ended (its timeout, which
        is also when the stack's own resends run out and it makes a no-response Abort) has a cancelled future
        that bacpypes3 forgets only a turn of the loop later; setting it would raise InvalidStateError in a
        task nobody awaits, so such an answer is dropped here."""
        for request, future in self._requests.get(apdu.pduSource, ()):
            if request.apduInvokeID == apdu.apduInvokeID and future.done():
                return
        await super().confirmation(apdu)

    async def do_WritePropertyRequest(self, apdu: WritePropertyRequest) -> None:  # noqa: N802 (bacpypes3's name)
        if apdu.priority is None and apdu.propertyIdentifier == _PRESENT_VALUE \
                and isinstance(self.get_object_id(apdu.objectIdentifier), _PointObject):
            # No priority is priority 16 (clause 19.2.1); bacpypes3 only decodes a Null (a relinquish) when the
            # request carries a priority.
            apdu.priority = UNPRIORITIZED_WRITE
        await super().do_WritePropertyRequest(apdu)


# -- the served objects --------------------------------------------------------------------------------------
class _EveryChange(COVIncrementCriteria):
    """The COV criteria of an analog object (clause 13.1, Table 13-1), which also see a change to or from NaN
    (no value): bacpypes3 compares with the last reported value, and every comparison with NaN is false."""

    @monitor_filter("presentValue")
    def present_value_filter(self, old_value: float, new_value: float) -> bool:
        if self.previously_reported_value is None:
            self.previously_reported_value = old_value
        previous_missing, new_missing = math.isnan(self.previously_reported_value), math.isnan(new_value)
        if previous_missing or new_missing:
            return previous_missing != new_missing
        return bool(super().present_value_filter(old_value, new_value))


class _PointObject:
    """What the served objects share: one point of the store, which their properties mirror.

    Reads mirror the store first, so that a read never lags it; the server mirrors every object after each
    change of the store, so that COV subscribers are notified. Only ``presentValue`` can be written."""

    _cov_criteria = _EveryChange
    _store: PointStore
    _point: Point
    _commandable = False
    _mirrored: float | None = None

    async def read_property(self, attr: int | str, index: int | None = None) -> Any:
        self.mirror(PropertyIdentifier(attr).attr)
        return await super().read_property(attr, index)  # type: ignore[misc]

    async def write_property(self, attr: int | str, value: Any, index: int | None = None,
                             priority: int | None = None) -> None:
        if PropertyIdentifier(attr).attr != "presentValue":
            raise PropertyError("writeAccessDenied")  # names, units and the rest are the point map's
        if index is not None:
            raise PropertyError("propertyIsNotAnArray")
        wire = None if isinstance(value, Null) else float(value)
        try:
            self._store.write_wire(self._point.name, wire, UNPRIORITIZED_WRITE if priority is None else priority)
        except WriteRejectedError:
            # the store refuses a read-only point, a non-finite value and a priority outside 1-16
            raise PropertyError("valueOutOfRange" if self._point.writable else "writeAccessDenied") from None
        self.mirror()

    def mirror(self, attr: str = "presentValue") -> None:
        """Copy the store's present value (and, when ``attr`` is one of the priority array, that too) into the
        object; an unchanged value is not set again (bacpypes3's property setter costs some 0.1 ms)."""
        name = self._point.name
        value = self._store.read_wire(name)
        if value != self._mirrored:  # None at first: the object is made with NaN and unreliable-other
            self._mirrored = value
            # reliability first: the COV notification the present value schedules reports the status flags too
            self.reliability = Reliability.unreliableOther if value is None else Reliability.noFaultDetected  # type: ignore[attr-defined]
            self.presentValue = Real(math.nan if value is None else value)  # type: ignore[attr-defined]
        if not self._commandable:
            return
        if attr in ("priorityArray", "currentCommandPriority"):
            slots = self._store.priority_array(name)
            self.priorityArray = ArrayOf(PriorityValue)(  # type: ignore[attr-defined]
                [PriorityValue(null=()) if slot is None else PriorityValue(real=slot) for slot in slots])
            active = next((number for number, slot in enumerate(slots, start=1) if slot is not None), None)
            self.currentCommandPriority = (  # type: ignore[attr-defined]
                OptionalUnsigned(null=()) if active is None else OptionalUnsigned(unsigned=active))
        elif attr == "relinquishDefault":
            default = self._store.relinquish_default_wire(name)
            self.relinquishDefault = Real(math.nan if default is None else default)  # type: ignore[attr-defined]


class _AnalogInput(_PointObject, LocalObject, AnalogInputObject):
    pass


class _AnalogValue(_PointObject, LocalObject, AnalogValueObject):
    pass


class _AnalogOutput(_PointObject, LocalObject, AnalogOutputObject):
    pass


_OBJECT_CLASSES = {"analog-input": _AnalogInput, "analog-value": _AnalogValue, "analog-output": _AnalogOutput}


def _served_object(store: PointStore, point: Point) -> _PointObject:
    """The object of one point. A writable point, and every analog-output (clause 12.3 requires its priority
    array), is commandable."""
    properties: dict[str, Any] = {
        "objectIdentifier": object_identifier(point), "objectName": point.name,
        "presentValue": Real(math.nan), "units": engineering_units(point), "eventState": "normal",
        "outOfService": False, "reliability": Reliability.unreliableOther, "covIncrement": Real(0.0),
    }
    if point.brick_class is not None:
        properties["description"] = f"Brick {point.brick_class}"
    commandable = point.writable or point.object_type == "analog-output"
    if commandable:
        properties |= {"priorityArray": ArrayOf(PriorityValue)([PriorityValue(null=())] * PRIORITY_SLOTS),
                       "relinquishDefault": Real(math.nan), "currentCommandPriority": OptionalUnsigned(null=())}
    obj = _OBJECT_CLASSES[point.object_type](**properties)  # type: ignore[index]
    obj._store, obj._point, obj._commandable = store, point, commandable
    for attr in ("presentValue", "priorityArray", "relinquishDefault") if commandable else ("presentValue",):
        obj.mirror(attr)
    return obj


# -- the server ----------------------------------------------------------------------------------------------
class BacnetServer:
    """A BACnet/IP device at ``device.address`` serving ``points`` of ``store`` (see the module docstring).

    Start it with :meth:`start` (or :func:`serve_bacnet`, or ``async with``) inside the event loop it is to run
    in; the store may be changed from any thread."""

    def __init__(self, store: PointStore, device: Device, points: Iterable[Point]) -> None:
        if device.protocol != "bacnet" or device.device_instance is None:
            raise GreendcError(f"a BACnet server needs a BACnet device with a device_instance, not {device!r}")
        self.store, self.device = store, device
        self.points = list(points)
        for point in self.points:
            if point.object_type is None or point.instance is None:
                raise GreendcError(f"{point.name} has no BACnet object_type and instance")
        self._app: _Stack | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._objects: list[_PointObject] = []
        self._lock = threading.Lock()
        self._mirror_pending = False
        self._closed = False

    @property
    def port(self) -> int:
        """The UDP port the device is bound to."""
        if self._app is None:
            return self.device.port
        return int(self._app.address.addrTuple[1])

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        device_object = DeviceObject(objectIdentifier=("device", self.device.device_instance),
                                     objectName=f"greendc building {self.device.device_instance}")
        self._app = _Stack(device_object, _bound_socket(self.device.host, self.device.port))
        await self._app.ready()
        try:
            for point in self.points:
                obj = _served_object(self.store, point)
                self._app.add_object(obj)  # raises on a second object of one identifier or name
                self._objects.append(obj)
        except BaseException:
            await self.close()
            raise
        self.store.add_listener(self._store_changed)

    async def close(self) -> None:
        with self._lock:
            self._closed = True  # the store keeps its listeners: this one goes quiet
        if self._app is not None:
            for detection in list(self._app._cov_detections.values()):
                for subscription in list(detection.cov_subscriptions):
                    self._app.cancel_subscription(subscription)  # their lifetime timers would outlive the device
            await self._app.aclose()
            self._app = None

    async def __aenter__(self) -> BacnetServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _store_changed(self) -> None:
        """The store's listener, called from whichever thread changed it: mirror once in the server's loop."""
        with self._lock:
            if self._closed or self._mirror_pending or self._loop is None:
                return
            self._mirror_pending = True
        try:
            self._loop.call_soon_threadsafe(self._mirror_all)
        except RuntimeError:  # the loop has closed under a server nobody closed
            self._mirror_pending = False

    def _mirror_all(self) -> None:
        with self._lock:
            self._mirror_pending = False  # cleared before mirroring: a change from now on schedules another
            if self._closed:
                return
        for obj in self._objects:
            obj.mirror()


async def serve_bacnet(store: PointStore, device: Device, points: Iterable[Point]) -> BacnetServer:
    """Start a :class:`BacnetServer` in the running loop; ``await server.close()`` stops it."""
    server = BacnetServer(store, device, points)
    await server.start()
    return server


# -- the client ----------------------------------------------------------------------------------------------
def _describe(error: BaseException) -> str:
    """An Error, Reject or Abort (an answer, or an ErrorType in a ReadPropertyMultiple result) in words."""
    error_class = getattr(error, "errorClass", None)
    if error_class is not None:
        return f"{error_class}: {getattr(error, 'errorCode', '?')}"
    return f"{type(error).__name__.removesuffix('PDU').lower()}: {getattr(error, 'reason', '?')}"


def _no_answer(error: BaseException) -> bool:
    """Whether an Abort is the client stack's own "no response": its resends ran out before asyncio's bound on
    the request (the two end together), so the device did not answer; it did not refuse."""
    return isinstance(error, AbortPDU) and error.apduAbortRejectReason == AbortReason.noResponse


def _registry_value(point: Point, value: object) -> tuple[float | None, str | None]:
    """A value read off the wire, in the registry's unit, or None and why not."""
    if getattr(value, "errorClass", None) is not None:
        return None, _describe(value)  # type: ignore[arg-type]
    if not isinstance(value, int | float):
        return None, f"not a number: {plain_text(value)}"
    if not math.isfinite(value):
        return None, "the device has no value (it reports NaN)" if math.isnan(value) else f"the device reports {value}"
    return point.to_registry_unit(float(value)), None


class BacnetClient:
    """The agent's side: reads, writes and COV subscriptions to the BACnet devices of ``devices``.

    An async context manager; it binds its own UDP socket at ``host:port`` (port 0: one the OS picks). One bad
    point never raises from :meth:`read`: it reads None, with the reason in :attr:`last_errors`."""

    def __init__(self, devices: Mapping[str, Device], host: str = "127.0.0.1", port: int = 0,
                 device_instance: int = CLIENT_DEVICE_INSTANCE) -> None:
        self.devices = {name: device for name, device in devices.items() if device.protocol == "bacnet"}
        self.host, self.port, self.device_instance = host, port, device_instance
        #: Why each point of the last :meth:`read` (and of any COV subscription since) has no value.
        self.last_errors: dict[str, str] = {}
        self._app: _Stack | None = None
        self._subscriptions: list[CovSubscription] = []
        self._process_ids = itertools.count(1)  # subscriber process identifiers, one a subscription

    async def __aenter__(self) -> BacnetClient:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        timeout_s = min((device.timeout_s for device in self.devices.values()), default=2.0)
        # The stack's own resend timer, so that a lost datagram is sent again within the device's timeout;
        # asyncio's wait_for on each request is the bound.
        device_object = DeviceObject(objectIdentifier=("device", self.device_instance), objectName="greendc agent",
                                     apduTimeout=max(1, int(1000 * timeout_s / SENDS_PER_REQUEST)),
                                     numberOfApduRetries=SENDS_PER_REQUEST - 1)
        self._app = _Stack(device_object, _bound_socket(self.host, self.port))
        await self._app.ready()
        self.port = int(self._app.address.addrTuple[1])

    async def close(self) -> None:
        await asyncio.gather(*(subscription.cancel() for subscription in list(self._subscriptions)))
        if self._app is not None:
            await self._app.aclose()
            self._app = None

    # -- reads ---------------------------------------------------------------------------------------------
    async def read(self, points: Iterable[Point]) -> dict[str, float | None]:
        """The present values of ``points`` in the registry's units; None (and a reason in :attr:`last_errors`)
        for a point that errs, a device that does not answer, or a point of no BACnet device of this client.
        One ReadPropertyMultiple per :data:`RPM_BATCH` points of a device, all concurrently."""
        points = list(points)
        batches: list[tuple[Device, list[Point]]] = []
        results: dict[str, tuple[float | None, str | None]] = {}
        for device_name in dict.fromkeys(point.device for point in points):
            mine = [point for point in points if point.device == device_name]
            device = self.devices.get(device_name)
            if device is None:
                results |= {point.name: (None, f"{device_name} is not a BACnet device of this client")
                            for point in mine}
                continue
            batches += [(device, mine[start:start + RPM_BATCH]) for start in range(0, len(mine), RPM_BATCH)]
        for answer in await asyncio.gather(*(self._read_batch(device, batch) for device, batch in batches)):
            results |= answer
        self.last_errors = {name: reason for name, (_, reason) in results.items() if reason is not None}
        return {point.name: results[point.name][0] for point in points}

    async def _read_batch(self, device: Device, points: list[Point]) -> dict[str, tuple[float | None, str | None]]:
        # bacpypes3 takes the request as one flat list: object, [properties], object, [properties], ...
        request: list[Any] = []
        for point in points:
            request += [object_identifier(point), [_PRESENT_VALUE]]
        try:
            answer = await asyncio.wait_for(
                self._stack().read_property_multiple(_address(device), request), device.timeout_s)
        except TimeoutError:
            return {point.name: (None, _unreachable(points[0].device, device)) for point in points}
        except ErrorRejectAbortNack as error:  # a BaseException in bacpypes3, not an Exception
            if _no_answer(error):
                return {point.name: (None, _unreachable(points[0].device, device)) for point in points}
            # a whole request fails only when none of its objects exists (clause 15.7)
            return {point.name: (None, f"device {points[0].device}: {_describe(error)}") for point in points}
        values = {identifier: value for identifier, _, _, value in answer or ()}
        return {point.name: _registry_value(point, values[object_identifier(point)])
                if object_identifier(point) in values else (None, "the device's answer left it out")
                for point in points}

    async def priority_array(self, point: Point) -> tuple[float | None, ...]:
        """Who commands ``point``: its 16 slots (slot 1 first) in the registry's unit, None for an empty one."""
        slots = await self._read_property(point, "priorityArray")
        return tuple(None if slot.null is not None else point.to_registry_unit(float(getattr(slot, slot._choice)))
                     for slot in slots)

    async def relinquish_default(self, point: Point) -> float | None:
        """What ``point`` holds when no slot is set (the building's own control), in the registry's unit."""
        return _registry_value(point, await self._read_property(point, "relinquishDefault"))[0]

    async def _read_property(self, point: Point, name: str) -> Any:
        device = self._device_of(point)
        return await _answer(self._stack().read_property(
            _address(device), object_identifier(point), PropertyIdentifier(name)), point, device,
            lambda reason: BacnetRequestError(f"{point.name}: device {point.device} refused to read {name}: "
                                              f"{reason}"))

    # -- writes --------------------------------------------------------------------------------------------
    async def write(self, point: Point, value_registry_unit: float, priority: int) -> None:
        """Write ``point``'s present value at ``priority``; :class:`~greendc.bms.store.WriteRejectedError`
        when the device refuses it, :class:`DeviceUnreachableError` when it does not answer."""
        await self._write(point, Real(point.from_registry_unit(value_registry_unit)), priority)

    async def relinquish(self, point: Point, priority: int) -> None:
        """Empty ``point``'s slot at ``priority`` (write Null, clause 19.2)."""
        await self._write(point, Null(()), priority)

    async def _write(self, point: Point, value: Real | Null, priority: int) -> None:
        device = self._device_of(point)
        if not 1 <= priority <= PRIORITY_SLOTS:
            raise WriteRejectedError(f"{point.name}: priority {priority} is outside 1-{PRIORITY_SLOTS}")
        await _answer(self._stack().write_property(
            _address(device), object_identifier(point), _PRESENT_VALUE, value, priority=priority), point, device,
            lambda reason: WriteRejectedError(f"{point.name}: device {point.device} refused the write: {reason}"))

    # -- change of value -----------------------------------------------------------------------------------
    async def subscribe_cov(self, points: Iterable[Point], lifetime_s: float, callback: ValueCallback,
                            confirmed: bool = False) -> CovSubscription:
        """Subscribe to the changes of ``points`` for ``lifetime_s`` seconds, renewed every third of it until
        :meth:`CovSubscription.cancel` (or :meth:`close`). ``callback(name, value_in_registry_unit_or_None)``
        runs in this loop at once, after each change, and after each renewal (bacpypes3's device notifies on
        every SubscribeCOV). Raises :class:`DeviceUnreachableError` or :class:`SubscriptionRefusedError` when a
        point's first subscription fails; the others are then cancelled."""
        lifetime = math.ceil(lifetime_s)
        if lifetime < 1:
            raise GreendcError(f"a COV lifetime is at least 1 s, not {lifetime_s:g}")
        watches = [_CovWatch(self, self._device_of(point), point, next(self._process_ids), confirmed, lifetime,
                             callback) for point in points]
        outcomes = await asyncio.gather(*(watch.start() for watch in watches), return_exceptions=True)
        subscription = CovSubscription(self, [watch for watch, outcome in zip(watches, outcomes, strict=True)
                                              if outcome is None])
        self._subscriptions.append(subscription)
        failure = next((outcome for outcome in outcomes if outcome is not None), None)
        if failure is not None:
            await subscription.cancel()
            raise failure
        return subscription

    def _device_of(self, point: Point) -> Device:
        device = self.devices.get(point.device)
        if device is None:
            raise GreendcError(f"{point.name}: {point.device} is not a BACnet device of this client")
        return device

    def _stack(self) -> _Stack:
        if self._app is None:
            raise GreendcError("the BACnet client is not open: use it as `async with BacnetClient(...)`")
        return self._app


def _address(device: Device) -> Address:
    return Address(f"{device.host}:{device.port}")


def _unreachable(name: str, device: Device) -> str:
    return f"device {name} at {device.address} did not answer within {device.timeout_s:g} s"


async def _answer(request: Awaitable[Any], point: Point, device: Device,
                  refused: Callable[[str], Exception]) -> Any:
    """The device's answer to ``request`` within its timeout. :class:`DeviceUnreachableError` when none comes
    (asyncio's bound, or the stack's own no-response Abort, ``_no_answer``); ``refused(reason)`` when the device
    answers no (an Error, Reject or Abort)."""
    try:
        return await asyncio.wait_for(request, device.timeout_s)
    except TimeoutError:
        raise DeviceUnreachableError(_unreachable(point.device, device)) from None
    except ErrorRejectAbortNack as error:
        if _no_answer(error):
            raise DeviceUnreachableError(_unreachable(point.device, device)) from None
        raise refused(_describe(error)) from None


@dataclass
class CovSubscription:
    """The COV subscriptions of one :meth:`BacnetClient.subscribe_cov` call."""

    client: BacnetClient
    watches: list[_CovWatch]

    async def cancel(self) -> None:
        """Stop renewing and cancel each subscription at the device (best effort: its lifetime ends it too)."""
        watches, self.watches = self.watches, []
        await asyncio.gather(*(watch.stop() for watch in watches))  # together: each may wait out a timeout
        if self in self.client._subscriptions:
            self.client._subscriptions.remove(self)


class _CovWatch(SubscriptionContextManager):
    """One point's subscription, on bacpypes3's subscription context (whose notification handlers find it),
    but registered before the first SubscribeCOV (bacpypes3 registers after the acknowledgement, and drops the
    immediate notification when it arrives first), renewed every third of its lifetime (bacpypes3: 2 s before
    the end, losing the subscription to one lost datagram), and with every request bounded by the timeout."""

    def __init__(self, client: BacnetClient, device: Device, point: Point, process_id: int, confirmed: bool,
                 lifetime: int, callback: ValueCallback) -> None:
        super().__init__(client._stack(), _address(device), object_identifier(point), process_id, confirmed,
                         lifetime)
        self.client, self.device, self.point, self.callback = client, device, point, callback
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def _key(self) -> tuple[Address, int]:
        return self.address, self.subscriber_process_identifier

    async def start(self) -> None:
        self.app._cov_contexts[self._key] = self
        try:
            await self._send(SubscribeCOVRequest(
                subscriberProcessIdentifier=self.subscriber_process_identifier,
                monitoredObjectIdentifier=self.monitored_object_identifier,
                issueConfirmedNotifications=self.issue_confirmed_notifications, lifetime=self.lifetime,
                destination=self.address))
        except BaseException:
            self.app._cov_contexts.pop(self._key, None)
            raise
        self._tasks = [asyncio.create_task(self._deliver()), asyncio.create_task(self._renew())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        if self.app._cov_contexts.pop(self._key, None) is None:
            return
        cancel = SubscribeCOVRequest(subscriberProcessIdentifier=self.subscriber_process_identifier,
                                     monitoredObjectIdentifier=self.monitored_object_identifier,
                                     destination=self.address)  # no lifetime, no confirmed: a cancellation
        with contextlib.suppress(DeviceUnreachableError, SubscriptionRefusedError):
            await self._send(cancel)

    async def _send(self, request: SubscribeCOVRequest) -> None:
        point = self.point
        await _answer(self.app.request(request), point, self.device, lambda reason: SubscriptionRefusedError(
            f"{point.name}: device {point.device} refused the COV subscription: {reason}"))

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lifetime / 3)
            try:
                await self._send(SubscribeCOVRequest(
                    subscriberProcessIdentifier=self.subscriber_process_identifier,
                    monitoredObjectIdentifier=self.monitored_object_identifier,
                    issueConfirmedNotifications=self.issue_confirmed_notifications, lifetime=self.lifetime,
                    destination=self.address))
            except (DeviceUnreachableError, SubscriptionRefusedError) as error:
                self.client.last_errors[self.point.name] = f"COV renewal failed: {error}"

    async def _deliver(self) -> None:
        while True:
            identifier, value = await self.get_value()
            if identifier != _PRESENT_VALUE:
                continue  # the status flags
            registry_value, reason = _registry_value(self.point, value)
            if reason is None:
                self.client.last_errors.pop(self.point.name, None)
            else:
                self.client.last_errors[self.point.name] = reason
            try:
                self.callback(self.point.name, registry_value)
            except Exception as error:  # the subscription outlives a callback's bug, which stays visible here
                self.client.last_errors[self.point.name] = f"the COV callback raised {error!r}"
