"""Photos in (imageio), guidance maps (guidance), building a prepared dataset (prepare), reading one
(prepared, with its typed Manifest), and the choices and defaults both use (settings, torch- and cv2-free)."""
