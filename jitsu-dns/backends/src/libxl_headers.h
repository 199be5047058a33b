#pragma once
// libxl's C headers, which have no extern "C" guards of their own.
extern "C" {
#include <libxl.h>
#include <libxl_utils.h>
#include <xentoollog.h>
}
