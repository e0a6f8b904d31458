"""Photos in (imageio), guidance maps (guidance), and prepared datasets (prepare)."""
