"""The stored paper state: old files load, round trips, newer schemas refused."""
