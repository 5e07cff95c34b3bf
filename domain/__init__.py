"""The write side of xiaohao: aggregates and the one Application that is the write API."""
