// The planning view (placeholder, being written).
#pragma once
