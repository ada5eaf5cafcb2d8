#ifndef TUG_INIT_H
#define TUG_INIT_H

// The file whose presence beside the exec fifo asks for the init.
#define TUG_INIT_MARKER "tug-init"

#endif
