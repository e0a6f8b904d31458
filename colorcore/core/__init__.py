"""What every room uses: events, options, atomic files, provenance, resources, devices, precision, Lab."""
