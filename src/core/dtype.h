// The dtype table lives in the public API (tarmac/dtype.h).
#pragma once

#include "tarmac/dtype.h"
