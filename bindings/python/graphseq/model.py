"""Model and Optimizer: a layer of the Swift API behind a gsq_model_t (its
parameters, gradients and the tensors of its last forward and backward) and
a torch.optim-style optimiser over its parameters (gsq_optimizer_t)."""
import os

import numpy as np

from ._library import Handle, check, choose, copy_out, enum_values, ffi, lib, pointer
from .errors import InvalidArgumentError
from .graph import LAPLACIANS, Graph

KINDS = enum_values("gsq_model_kind_t", "GSQ_MODEL_")
OPTIMIZERS = enum_values("gsq_optimizer_kind_t", "GSQ_OPTIMIZER_")
_TENSORS = enum_values("gsq_model_tensor_t", "GSQ_MODEL_")
_SEQUENCE = {"rnn_tanh", "rnn_relu", "lstm", "gru"}     # [T, B, I], states [L*D, B, .]
_GRAPH_SEQUENCE = {"gconv_lstm", "gconv_gru", "gcrn1"}  # [T, N, B, I], states [N, B, H]


class Model(Handle):
    """A layer or stack (kind: one of KINDS, e.g. 'lstm', 'gconv_gru') with
    freshly initialised parameters (from seed). Arguments are the fields of
    gsq_model_options_t, PyTorch's names and defaults; graphseq.h's model
    table gives each kind's input and output shapes. lambda_max None is
    estimated per graph."""

    def __init__(self, kind, input_size, hidden_size=0, output_size=0, *, num_layers=1,
                 bidirectional=False, dropout=0.0, bias=True, batch_first=False, peephole=False,
                 coupled=False, proj_size=0, gru_reset_before_product=False, order=2,
                 normalization="sym", lambda_max=None, horizon=1, cell="gconv_lstm", seed=0):
        o = ffi.new("gsq_model_options_t *")
        o.struct_size = ffi.sizeof("gsq_model_options_t")
        o.kind = choose("kind", kind, KINDS)
        o.input_size, o.hidden_size, o.output_size = input_size, hidden_size, output_size
        o.num_layers, o.bidirectional, o.dropout = num_layers, bidirectional, dropout
        o.bias, o.batch_first, o.proj_size = bias, batch_first, proj_size
        o.lstm_flags = ((lib.GSQ_LSTM_PEEPHOLE if peephole else 0)
                        | (lib.GSQ_LSTM_COUPLED if coupled else 0))
        o.gru_reset_before_product, o.order = gru_reset_before_product, order
        o.normalization = choose("normalization", normalization, LAPLACIANS)
        o.lambda_max = 0.0 if lambda_max is None else lambda_max
        o.horizon, o.seed = horizon, seed
        o.cell = choose("cell", cell, {k: KINDS[k] for k in ("gconv_lstm", "gconv_gru")})
        out = ffi.new("gsq_model_t *")
        check(lib.gsq_model_create(out, o))
        super().__init__(out[0], lib.gsq_model_destroy)
        self.kind = kind
        self._layers = num_layers * (2 if bidirectional else 1)
        self._batch_axis = 0 if batch_first else 1
        self._hidden = hidden_size
        self._h_size = proj_size if kind == "lstm" and proj_size > 0 else hidden_size
        self.parameter_names = [self._parameter(i)[0]
                                for i in range(lib.gsq_model_parameter_count(self.handle))]

    def forward(self, x, graph=None, *, lengths=None, h0=None, c0=None):
        """Runs the model on x and returns its output (a copy). graph: the
        adjacency, for graph kinds. lengths: int64, one per sequence (1..T),
        for sequence kinds. h0, c0: initial states (None: zeros)."""
        px = pointer("x", x)
        if not 1 <= x.ndim <= 4:
            raise InvalidArgumentError(f"x has rank {x.ndim}, expected 1 to 4")
        if graph is not None and not isinstance(graph, Graph):
            raise InvalidArgumentError(f"graph must be a Graph, got {type(graph).__name__}")
        h_shape, c_shape = self._state_shapes(x.shape, h0 is not None or c0 is not None)
        if lengths is not None and (self.kind not in _SEQUENCE or x.ndim != 3):
            raise InvalidArgumentError("lengths are for sequence kinds with x of rank 3")
        plengths = pointer("lengths", lengths, np.int64,
                           None if lengths is None else (x.shape[self._batch_axis],), optional=True)
        check(lib.gsq_model_forward(self.handle, ffi.NULL if graph is None else graph.handle, px,
                                    x.ndim, ffi.new("int64_t[4]", x.shape), plengths,
                                    pointer("h0", h0, shape=h_shape, optional=True),
                                    pointer("c0", c0, shape=c_shape, optional=True)))
        return self.tensor("output")

    def _state_shapes(self, shape, needed):
        """The shapes of h0 and c0 for an input of `shape` (None: no such state)."""
        if not needed:
            return None, None
        if self.kind in _SEQUENCE and len(shape) == 3:
            h = (self._layers, shape[self._batch_axis], self._h_size)
            return h, (h[:2] + (self._hidden,) if self.kind == "lstm" else None)
        if self.kind in _GRAPH_SEQUENCE and len(shape) == 4:
            state = (shape[1], shape[2], self._hidden)
            return state, (None if self.kind == "gconv_gru" else state)
        raise InvalidArgumentError(f"a {self.kind} model takes no initial state for x of rank {len(shape)}")

    def _shape(self, which):
        rank, shape = ffi.new("int64_t *"), ffi.new("int64_t[4]")
        check(lib.gsq_model_tensor(self.handle, _TENSORS[which], ffi.NULL, rank, shape))
        return tuple(ffi.unpack(shape, rank[0]))

    def tensor(self, which="output"):
        """A copy of a result of the last forward ('output', 'state_h',
        'state_c') or backward ('grad_input', 'grad_h0', 'grad_c0')."""
        data, rank, shape = ffi.new("const float **"), ffi.new("int64_t *"), ffi.new("int64_t[4]")
        check(lib.gsq_model_tensor(self.handle, choose("which", which, _TENSORS), data, rank, shape))
        return copy_out(data[0], tuple(ffi.unpack(shape, rank[0])))

    def backward(self, doutput, dh=None, dc=None):
        """Back-propagates dLoss/doutput (and dLoss/d(final h, c), None:
        zeros) through the last forward: adds to the parameter gradients and
        sets the 'grad_*' tensors."""
        pd = pointer("doutput", doutput, shape=self._shape("output"))
        pdh = pointer("dh", dh, shape=self._shape("state_h") if dh is not None else None, optional=True)
        pdc = pointer("dc", dc, shape=self._shape("state_c") if dc is not None else None, optional=True)
        check(lib.gsq_model_backward(self.handle, pd, pdh, pdc))

    def zero_grad(self):
        check(lib.gsq_model_zero_grad(self.handle))

    def clip_grad_norm(self, max_norm):
        """Scales all gradients together to a global L2 norm of at most
        max_norm (torch.nn.utils.clip_grad_norm_); returns the norm before."""
        norm = ffi.new("float *")
        check(lib.gsq_model_clip_grad_norm(self.handle, max_norm, norm))
        return norm[0]

    def train(self, mode=True):
        """Training mode (dropout on) or not; returns self."""
        check(lib.gsq_model_set_training(self.handle, bool(mode)))
        return self

    def eval(self):
        return self.train(False)

    def _parameter(self, index):
        name, value, grad = ffi.new("const char **"), ffi.new("float **"), ffi.new("float **")
        rank, shape = ffi.new("int64_t *"), ffi.new("int64_t[4]")
        check(lib.gsq_model_parameter(self.handle, index, name, value, grad, rank, shape))
        return ffi.string(name[0]).decode(), value[0], grad[0], tuple(ffi.unpack(shape, rank[0]))

    def state_dict(self):
        """{name: copy of the parameter}, PyTorch's names and layouts."""
        return {name: copy_out(value, shape)
                for name, value, _, shape in map(self._parameter, range(len(self.parameter_names)))}

    def gradients(self):
        """{name: copy of the parameter's accumulated gradient}."""
        return {name: copy_out(grad, shape)
                for name, _, grad, shape in map(self._parameter, range(len(self.parameter_names)))}

    def load_state_dict(self, values):
        """Copies parameters in from {name: C-contiguous float32 array of the
        parameter's shape}; every name must be the model's. Nothing changes
        unless all are valid."""
        unknown = set(values) - set(self.parameter_names)
        if unknown:
            raise InvalidArgumentError(f"unknown parameters {sorted(unknown)}")
        copies = []
        for index, name in enumerate(self.parameter_names):
            if name in values:
                _, value, _, shape = self._parameter(index)
                copies.append((value, pointer(name, values[name], shape=shape), 4 * int(np.prod(shape))))
        for value, source, size in copies:
            ffi.memmove(value, source, size)

    def save(self, path):
        """Writes the state dict as a safetensors file (PyTorch names)."""
        check(lib.gsq_model_save(self.handle, os.fsencode(path)))

    def load(self, path):
        """Loads a safetensors file of this model's names, shapes and dtypes
        (written by save or by PyTorch); nothing changes on failure."""
        check(lib.gsq_model_load(self.handle, os.fsencode(path)))

    def __repr__(self):
        return f"Model({self.kind!r}{', closed' if self.closed else ''})"


class Optimizer(Handle):
    """A torch.optim optimiser (kind 'sgd', 'rmsprop', 'adam', 'adamw') over
    all of model's parameters, with torch's hyper-parameter names. The C
    optimiser keeps the parameters alive, so model and optimiser may be
    closed in either order."""

    def __init__(self, model, kind="adam", lr=1e-3, *, momentum=0.0, dampening=0.0,
                 nesterov=False, alpha=0.99, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 centered=False, amsgrad=False):
        if not isinstance(model, Model):
            raise InvalidArgumentError(f"model must be a Model, got {type(model).__name__}")
        o = ffi.new("gsq_optimizer_options_t *")
        o.struct_size = ffi.sizeof("gsq_optimizer_options_t")
        o.kind = choose("kind", kind, OPTIMIZERS)
        o.learning_rate, o.momentum, o.dampening, o.nesterov = lr, momentum, dampening, nesterov
        o.alpha, (o.beta1, o.beta2), o.epsilon = alpha, betas, eps
        o.weight_decay, o.centered, o.amsgrad = weight_decay, centered, amsgrad
        out = ffi.new("gsq_optimizer_t *")
        check(lib.gsq_optimizer_create(out, model.handle, o))
        super().__init__(out[0], lib.gsq_optimizer_destroy)
        self.kind = kind
        self._lr = lr

    def step(self):
        """Updates every parameter from its accumulated gradient."""
        check(lib.gsq_optimizer_step(self.handle))

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        check(lib.gsq_optimizer_set_learning_rate(self.handle, value))
        self._lr = value

    def save(self, path):
        """Writes the optimiser state (torch.optim's names) as a safetensors
        file; with Model.save it makes training resume exactly."""
        check(lib.gsq_optimizer_save(self.handle, os.fsencode(path)))

    def load(self, path):
        """Loads a state written by save for the same kind, options and
        parameters; nothing changes on failure."""
        check(lib.gsq_optimizer_load(self.handle, os.fsencode(path)))

    def __repr__(self):
        return f"Optimizer({self.kind!r}, lr={self._lr}{', closed' if self.closed else ''})"
