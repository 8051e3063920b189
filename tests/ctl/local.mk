# tests/ctl
