// Status / StatusOr live in the public API (tarmac/status.h).
#pragma once

#include "tarmac/status.h"
