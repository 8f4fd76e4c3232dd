"""Carbon accounting for data centers: Scope 2 (both methods), renewables, avoided emissions and KPIs."""

from greendc.carbon.calculate import InventoryResult, calculate
from greendc.carbon.errors import InventoryError
from greendc.carbon.inventory import Inventory, LoadedInventory, load_inventory

__all__ = ["Inventory", "InventoryError", "InventoryResult", "LoadedInventory", "calculate", "load_inventory"]
