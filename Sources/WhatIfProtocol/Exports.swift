// JSONValue is part of the protocol's vocabulary (job parameters and results).
@_exported import WhatIfJSON
