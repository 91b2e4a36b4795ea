"""The shared kernel: one place for each mechanism every Forgeline service uses."""
