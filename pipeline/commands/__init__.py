"""The commands other than build: status, check, import, doctor, watch, add, reject."""
