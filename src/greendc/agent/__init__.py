"""The live agent: greendc's controllers on a real building management system, over BACnet/IP and Modbus TCP.

:mod:`greendc.agent.agent` runs the loop (read, decide, write, heartbeat) in read-only, advisory or
closed-loop mode; :mod:`greendc.agent.client` reads and writes a point map's points on its devices;
:mod:`greendc.agent.ledger` remembers what the agent commanded so that nothing outlives it;
:mod:`greendc.agent.storage` keeps the live telemetry and decisions in the schema ``greendc train`` reads.
The agent never sees EnergyPlus: the virtual building it is tested against is just another BMS.
"""
