/* reader.h — a limit on what a peer's reply may make hiredis allocate.
 *
 * hiredis 0.14 allocates an array reply's element vector as soon as its
 * header ("*<count>") arrives, before any element: a peer on a node or
 * Sentinel address that sends "*1745915854" makes it ask for 14 GB (found by
 * tests/fuzz/fuzz_sreply). hiredis 1.x has reader->maxelements for this;
 * 0.14 lets the object functions be replaced, so an array over
 * RESP_MAX_ELEMENTS is refused there: the reader fails with an out-of-memory
 * error and the connection is dropped like any broken one. */

#ifndef HP_READER_H
#define HP_READER_H

#include <hiredis/hiredis.h>

/* Far above any real reply: SENTINEL MASTERS names a master per element,
 * each master's entry has ~40 fields. */
#define RESP_MAX_ELEMENTS 65536

void resp_limit_reader(redisReader *r);

#endif
