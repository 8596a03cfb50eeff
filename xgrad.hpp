#pragma once
// The umbrella header: everything a model script needs. Installed as <xgrad/xgrad.hpp>.
// It does not include xtensor, so scripts compile quickly against the prebuilt library.

#include "framework/array.hpp"
#include "framework/tools/dot.hpp"
#include "framework/engine.hpp"
#include "framework/errors.hpp"
#include "framework/tools/gradcheck.hpp"
#include "framework/io/files.hpp"
#include "framework/mask_replay.hpp"
#include "framework/io/npy.hpp"
#include "framework/threads.hpp"
#include "framework/random.hpp"
#include "framework/tensor.hpp"
#include "framework/version.hpp"
#include "ops/ops.hpp"
#include "models/data/datasets.hpp"
#include "models/layers.hpp"
#include "models/module.hpp"
#include "models/optim.hpp"
#include "models/regularization_net.hpp"
