"""The building management system's side: the point map, and BACnet/IP and Modbus TCP servers and clients.

A point map (:mod:`greendc.bms.points`) says where each sensor and setpoint of a site lives on the BMS; the
point store (:mod:`greendc.bms.store`) holds a building's points with BACnet's priority arrays and the agent's
watchdog; :mod:`greendc.bms.bacnet` and :mod:`greendc.bms.modbus` serve a store and read and write points
over the wire. Nothing here knows the twin or the controllers: the virtual building
(``greendc.workflows.virtual_building``) and the agent (``greendc.agent``) stand on it.
"""
