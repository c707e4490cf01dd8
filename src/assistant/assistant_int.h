/*
 * assistant internals shared by the files of src/assistant/ (not part of
 * the contract in assistant.h).
 */
#ifndef SB_ASSISTANT_INT_H
#define SB_ASSISTANT_INT_H

#include "assistant/assistant.h"

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int assistant__utf8_valid(const char *s, size_t len);

#endif
