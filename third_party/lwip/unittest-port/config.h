/* SPDX-License-Identifier: BSD-3-Clause */
/* config.h - lwIP's unit tests include <config.h> (autoconf's, in lwIP's own build); nothing is
 * needed from it here. */
