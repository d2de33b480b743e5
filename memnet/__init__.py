"""memnet: Memory Networks (Weston, Chopra & Bordes, ICLR 2015) with inspectable I, G, O, R."""
