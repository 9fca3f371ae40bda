"""OCPP 1.6J central system: WebSocket endpoint, charger handlers, and a charge-point simulator."""
