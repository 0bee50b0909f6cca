"""The Qt desktop application. Only this package imports Qt; nothing imports it."""
