"""Causal designs, one package or module per family. Each follows three layers:
validate the request → gather sufficient statistics in the engine → pure math over arrays."""
