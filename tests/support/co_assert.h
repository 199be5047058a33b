#pragma once
// ASSERT_* cannot be used in a coroutine (they `return`); this one `co_return`s.

#include <gtest/gtest.h>

#define CO_ASSERT(cond)                                     \
    do {                                                    \
        if (!(cond)) {                                      \
            ADD_FAILURE() << "assertion failed: " << #cond; \
            co_return;                                      \
        }                                                   \
    } while (0)
