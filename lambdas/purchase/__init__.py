"""Task handlers of the purchase workflow (statemachines/purchase.asl.json)."""
