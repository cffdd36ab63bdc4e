"""``DistributedDataParallel``: PyTorch's data-parallel wrapper, over ``ember.distributed`` (MPI).

Contract (PyTorch 2.x is the specification; its C++ ``Reducer`` is reproduced here in Python):

- Construction broadcasts every parameter and buffer from rank 0 in place (``init_sync``), so
  all ranks start from the same model; the module stays at ``.module``, so ``state_dict`` keys
  carry the ``module.`` prefix, and nothing else is registered on the wrapper.
- Gradients are averaged over the group during ``backward``: each parameter that requires grad
  belongs to one *bucket*; after its gradient is accumulated (a post-accumulate-grad hook) it
  is multiplied by ``1 / world_size`` into its slot of the bucket's flat buffer (PyTorch's
  arithmetic: divide, then sum), and when every gradient of a bucket is in, the bucket's
  ``all_reduce`` is posted with ``async_op=True`` while backward goes on computing earlier
  layers. Buckets are posted in index order (every rank posts the same collectives in the same
  order). When the last bucket is posted, every bucket is waited for and copied back into the
  parameters' ``.grad``. So N ranks each taking the mean loss of their share of a global batch
  end with the gradient of the mean loss of the whole batch, equal to rounding.
- Buckets as PyTorch builds them: parameters in reverse registration order (the order their
  gradients roughly become ready), at most ``bucket_cap_mb`` (25 MiB by default) per bucket and
  dtype. Without ``find_unused_parameters`` the first iteration uses one bucket for all; at the
  next forward the buckets are rebuilt in the order the gradients actually arrived (rank 0's
  order, broadcast), the first one capped at 1 MiB when ``bucket_cap_mb`` is the default.
- ``no_sync()``: inside it, gradients only accumulate locally; the first synchronized
  backward after it reduces the accumulated gradients.
- ``find_unused_parameters=True``: after forward the autograd graph is searched from the
  outputs; parameters it does not reach (and those reached only by gradients that turn out to
  be None) count as ready with a zero contribution, and a parameter unused on every rank keeps
  its ``.grad`` untouched. Without the flag, a parameter that got no gradient leaves the
  reduction unfinished and the next forward raises PyTorch's "Expected to have finished
  reduction in the prior iteration ..." RuntimeError naming the parameter indices.
- Buffers (BatchNorm statistics) are broadcast from rank 0 before each forward
  (``broadcast_buffers``/``forward_sync_buffers``, PyTorch 2.13's arguments and deprecation
  warning), except after a forward run under ``no_sync``.
- ``gradient_as_bucket_view=True``: ``.grad`` becomes a view of the bucket buffer.
- A world of one process works the same way (the collectives are identities).

NOTE [end of backward]: PyTorch finalizes the reduction in a callback queued on the autograd
engine (``Variable._execution_engine.queue_callback``), run when the whole backward pass ends.
ember's engine has no such callback, so the reduction is finalized inside the hook that marks
the last parameter ready. At that point every parameter DDP reduces has its gradient and every
bucket is posted, so the result is the same; only the remaining backward work of the pass
(nodes that lead to no parameter) runs after the wait instead of before it.

Not supported (PyTorch needs GPUs or its C++ internals for these): ``device_ids``/
``output_device`` (CPU modules take none, as in PyTorch), ``mixed_precision``, ``device_mesh``,
``delay_all_reduce_named_params``, communication hooks, ``join``. ``static_graph=True`` is
accepted and reduces as the default mode does (every parameter must get a gradient);
``skip_all_reduce_unused_params`` and ``batched_grad_copy`` (performance switches) are accepted
and change nothing. Pickling (and ``copy.deepcopy``) leaves the process group and the reducer
behind and rebuilds them on the default group, as PyTorch's.
"""

from __future__ import annotations

import sys
import warnings
import weakref
from contextlib import contextmanager

from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

_DEFAULT_BUCKET_CAP_MB = 25
_MB_TO_BYTES = 1024 * 1024
_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # (torch.distributed._DEFAULT_FIRST_BUCKET_BYTES)

_UNUSED_SEARCH_WARNING = (
    "find_unused_parameters=True was specified in DDP constructor, but did not find any unused "
    "parameters in the forward pass. This flag results in an extra traversal of the autograd "
    "graph every iteration,  which can adversely affect performance. If your model indeed never "
    "has any unused parameters in the forward pass, consider turning this flag off. Note that "
    "this warning may be a false positive if your model has flow control causing later "
    "iterations to have unused parameters.")


def _dist():
    from ... import distributed as dist

    return dist


def _find_tensors(obj):
    """Every tensor inside ``obj`` (nested lists, tuples, dicts), as PyTorch's DDP looks."""
    from ...tensor import Tensor

    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _find_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _find_tensors(o)]
    return []


def _compute_bucket_assignment_by_size(tensors, bucket_size_limits, tensor_indices=None):
    """PyTorch's ``dist._compute_bucket_assignment_by_size``: group ``tensors`` by dtype and
    device, closing a group's bucket as soon as its byte size reaches the current limit (the
    limits are used in turn, the last one for the rest). ``tensor_indices`` names the tensors
    (gradient-ready order); without it they are ``0..n-1`` and the buckets are sorted by their
    smallest index, so they follow registration order."""
    result = []
    limits_at = {}
    open_buckets = {}  # key -> [indices, bytes]
    for i, t in enumerate(tensors):
        index = i if tensor_indices is None else tensor_indices[i]
        key = (t.dtype, str(t.device))
        bucket = open_buckets.setdefault(key, [[], 0])
        bucket[0].append(index)
        bucket[1] += t.numel() * t.element_size()
        at = limits_at.setdefault(key, 0)
        if bucket[1] >= bucket_size_limits[at]:
            result.append(bucket[0])
            open_buckets[key] = [[], 0]
            if at + 1 < len(bucket_size_limits):
                limits_at[key] = at + 1
    result.extend(b[0] for b in open_buckets.values() if b[0])
    if tensor_indices is None:
        result.sort(key=min)
    return result


class _Bucket:
    """One bucket: its parameters (indices), their slots in a flat buffer, the pending count
    and the posted all_reduce."""

    __slots__ = ("indices", "contents", "views", "pending", "work")

    def __init__(self, indices, params):
        from ...autograd.grad_mode import no_grad
        from ...creation import empty

        self.indices = list(indices)
        first = params[self.indices[0]]
        n = sum(params[i].numel() for i in self.indices)
        self.contents = empty(n, dtype=first.dtype)
        self.views = []
        offset = 0
        with no_grad():
            for i in self.indices:
                p = params[i]
                self.views.append(self.contents[offset:offset + p.numel()].view(p.shape))
                offset += p.numel()
        self.pending = len(self.indices)
        self.work = None


class _Reducer:
    """The gradient reduction of one DDP module (PyTorch's C++ ``Reducer``, in Python)."""

    def __init__(self, ddp, params, bucket_indices, bucket_bytes_cap, first_bucket_bytes_cap,
                 find_unused_parameters, gradient_as_bucket_view, static_graph):
        self.params = params
        self.pg = ddp.process_group
        self.bucket_bytes_cap = bucket_bytes_cap
        self.first_bucket_bytes_cap = first_bucket_bytes_cap
        self.find_unused = find_unused_parameters and not static_graph
        self.static_graph = static_graph
        self.as_view = gradient_as_bucket_view
        self.expect_hooks = False
        self.require_finalize = False
        self.next_bucket = 0
        self.has_marked_unused = False
        self.unused = []
        self.ready = set()
        self.has_rebuilt = False
        self.rebuilt = []  # parameter indices in the order their gradients became ready
        self.num_iterations = 0
        self.local_used = [0] * len(params)
        self._acc_hooks = {}  # index -> (AccumulateGrad node, handle): None-gradient detection
        self._initialize_buckets(bucket_indices)
        ref = weakref.ref(self)
        self._handles = []
        for index, p in enumerate(params):
            def hook(param, index=index):
                reducer = ref()
                if reducer is not None:
                    reducer.autograd_hook(index)
            self._handles.append(p.register_post_accumulate_grad_hook(hook))

    def __del__(self):
        for h in getattr(self, "_handles", ()):
            h.remove()
        for _, h in getattr(self, "_acc_hooks", {}).values():
            h.remove()

    # ---- buckets ----------------------------------------------------------------------------
    def _initialize_buckets(self, bucket_indices):
        self.buckets = [_Bucket(b, self.params) for b in bucket_indices]
        self.locators = {}
        for b, bucket in enumerate(self.buckets):
            for slot, index in enumerate(bucket.indices):
                self.locators[index] = (b, slot)

    def _should_rebuild(self):
        return (self.static_graph or not self.find_unused) and not self.has_rebuilt

    def rebuild_buckets(self):
        """At a forward after the first synchronized backward: buckets in the order the
        gradients became ready (rank 0's order), PyTorch's ``_rebuild_buckets``."""
        self.ensure_prior_reduction_finished()
        if not self._should_rebuild() or not self.rebuilt:
            return False
        from ...creation import tensor as _tensor

        order = _tensor(self.rebuilt)
        _dist().broadcast(order, _dist().get_global_rank(self.pg, 0), group=self.pg)
        order = [int(i) for i in order.tolist()]
        limits = [self.first_bucket_bytes_cap, self.bucket_bytes_cap]
        indices = _compute_bucket_assignment_by_size([self.params[i] for i in order], limits,
                                                     tensor_indices=order)
        self.has_rebuilt = True
        self.rebuilt = []
        self._initialize_buckets(indices)
        return True

    # ---- one iteration ----------------------------------------------------------------------
    def prepare_for_backward(self, outputs):
        """After a forward that will be reduced: expect hooks, reset the counts and, with
        ``find_unused_parameters``, find the parameters the outputs do not reach."""
        self.expect_hooks = True
        self.next_bucket = 0
        for bucket in self.buckets:
            bucket.pending = len(bucket.indices)
            bucket.work = None
        self.has_marked_unused = False
        self.ready = set()
        if self.find_unused:
            self.unused = self._search_unused_parameters(outputs)

    def _search_unused_parameters(self, outputs):
        from ...autograd.graph import AccumulateGrad

        index_of = {id(p): i for i, p in enumerate(self.params)}
        seen = set()
        stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
        reached = set()
        while stack:
            fn = stack.pop()
            for nxt, _ in fn.next_functions:
                if nxt is None or id(nxt) in seen:
                    continue
                seen.add(id(nxt))
                if type(nxt) is AccumulateGrad:
                    var = nxt.variable
                    index = index_of.get(id(var)) if var is not None else None
                    if index is not None:
                        reached.add(index)
                        self._watch_none_gradient(index, nxt)
                else:
                    stack.append(nxt)
        unused = [i for i in range(len(self.params)) if i not in reached]
        if not unused:
            from ..._warn import warn_once

            warn_once(_UNUSED_SEARCH_WARNING, stacklevel=6)  # (the user's call)
        return unused

    def _watch_none_gradient(self, index, node):
        """PyTorch's reducer hook runs after AccumulateGrad even when the gradient that reached
        it is None (an output that does not feed the loss, passed through DDP's sink). ember
        runs post-accumulate hooks only for real gradients, so a pre-hook on the node catches
        the None case."""
        known = self._acc_hooks.get(index)
        if known is not None and known[0] is node:
            return
        if known is not None:
            known[1].remove()
        ref = weakref.ref(self)

        def prehook(grad_outputs, index=index):
            reducer = ref()
            if reducer is not None and grad_outputs[0] is None:
                reducer.autograd_hook(index)

        self._acc_hooks[index] = (node, node.register_prehook(prehook))

    def autograd_hook(self, index):
        """A parameter's gradient is accumulated (or, with find_unused, known to be None)."""
        if self.find_unused and self.params[index].grad is not None:
            self.local_used[index] = 1  # (under no_sync too: accumulated gradients count)
        if not self.expect_hooks:
            return
        if not self.has_marked_unused:
            self.has_marked_unused = True
            for unused in self.unused:
                self._mark_variable_ready(unused)
        if self._should_rebuild():
            self.rebuilt.append(index)
        self._mark_variable_ready(index)

    def _mark_variable_ready(self, index):
        if index in self.ready:
            raise RuntimeError(_marked_twice_message(index))
        self.ready.add(index)
        # (from here on a finalize is due: if it does not come, the next forward says so)
        self.require_finalize = True
        b, slot = self.locators[index]
        bucket = self.buckets[b]
        self._copy_grad_to_bucket(index, bucket.views[slot])
        bucket.pending -= 1
        if bucket.pending == 0:
            self._mark_bucket_ready(b)
        else:
            self._progress()
        if self.next_bucket == len(self.buckets):
            if self.find_unused:
                from ...creation import tensor as _tensor
                from ...dtypes import int32

                self._used = _tensor(self.local_used, dtype=int32)
                self._used_work = _dist().all_reduce(self._used, group=self.pg, async_op=True)
            self.finalize_backward()  # NOTE [end of backward]

    def _copy_grad_to_bucket(self, index, view):
        from ...autograd.grad_mode import no_grad

        p = self.params[index]
        grad = p.grad
        world = _dist().get_world_size(self.pg)
        with no_grad():
            if grad is None:
                view.zero_()
            elif self.as_view and grad is view:
                view.div_(world)
            else:
                # divide while copying, in the gradient's dtype (PyTorch's mul_out by 1/world)
                view.copy_(grad.detach().mul(1.0 / world))
                if self.as_view:
                    p.grad = view

    def _progress(self):
        """Let MPI move the posted buckets' data: MPICH progresses a non-blocking collective
        only inside MPI calls, so each gradient that arrives tests the oldest unfinished
        bucket (one cheap MPI_Test) and the transfer runs alongside the backward pass."""
        for k in range(self.next_bucket):
            work = self.buckets[k].work
            if work is not None and not work.is_completed():
                return

    def _mark_bucket_ready(self, b):
        if b > self.next_bucket:
            return  # (its turn comes when the buckets before it are posted)
        dist = _dist()
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            bucket = self.buckets[self.next_bucket]
            # (no agreement check: every rank built the same buckets, rank 0's order)
            bucket.work = dist.distributed_c10d._all_reduce(
                bucket.contents, dist.ReduceOp.SUM, self.pg, True, check=False)
            self.next_bucket += 1

    def finalize_backward(self):
        """Wait for every bucket and write the averaged gradients back into ``.grad``."""
        from ...autograd.grad_mode import no_grad

        self.expect_hooks = False
        self.require_finalize = False
        used = None
        with no_grad():
            for bucket in self.buckets:
                bucket.work.wait()
                for slot, index in enumerate(bucket.indices):
                    if self.find_unused and not self.local_used[index]:
                        if used is None:
                            self._used_work.wait()
                            used = self._used.tolist()
                        if not used[index]:
                            continue  # unused on every rank: .grad stays as it is
                    p = self.params[index]
                    view = bucket.views[slot]
                    if self.as_view:
                        if p.grad is not view:
                            p.grad = view
                    elif p.grad is None:
                        p.grad = view.clone()
                    else:
                        p.grad.copy_(view)
        if self.find_unused:
            if used is None:
                self._used_work.wait()
            self.local_used = [0] * len(self.params)

    def ensure_prior_reduction_finished(self):
        if not self.require_finalize:
            return
        unmarked = [i for i in range(len(self.params)) if i not in self.ready]
        if self.find_unused:
            advice = ("Since `find_unused_parameters=True` is enabled, this likely  means that "
                      "not all `forward` outputs participate in computing loss. You can fix "
                      "this by ")
        else:
            advice = ("You can enable unused parameter detection by passing the keyword "
                      "argument `find_unused_parameters=True` to "
                      "`torch.nn.parallel.DistributedDataParallel`, and by \n")
        raise RuntimeError(
            "Expected to have finished reduction in the prior iteration before starting a new "
            "one. This error indicates that your module has parameters that were not used in "
            "producing loss. " + advice + "making sure all `forward` function outputs "
            "participate in calculating loss. \nIf you already have done the above, then the "
            "distributed data parallel module wasn't able to locate the output tensors in the "
            "return value of your module's `forward` function. Please include the loss "
            "function and the structure of the return value of `forward` of your module when "
            "reporting this issue (e.g. list, dict, iterable).\nParameter indices which did not "
            f"receive grad for rank {self.pg.rank()}: {' '.join(map(str, unmarked))}\n In "
            "addition, you can set the environment variable TORCH_DISTRIBUTED_DEBUG to either "
            "INFO or DETAIL to print out information about which particular parameters did not "
            "receive gradient on this rank as part of this error")


def _marked_twice_message(index):
    return (
        "Expected to mark a variable ready only once. This error is caused by one of the "
        "following reasons: 1) Use of a module parameter outside the `forward` function. Please "
        "make sure model parameters are not shared across multiple concurrent forward-backward "
        "passes. or try to use _set_static_graph() as a workaround if this module graph does "
        "not change during training loop.2) Reused parameters in multiple reentrant backward "
        "passes. For example, if you use multiple `checkpoint` functions to wrap the same part "
        "of your model, it would result in the same set of parameters been used by different "
        "reentrant backward passes multiple times, and hence marking a variable ready multiple "
        "times. DDP does not support such use cases in default. You can try to use "
        "_set_static_graph() as a workaround if your module graph does not change over "
        f"iterations.\nParameter at index {index} has been marked as ready twice. This means "
        "that multiple autograd engine  hooks have fired for this particular parameter during "
        "this iteration. You can set the environment variable TORCH_DISTRIBUTED_DEBUG to "
        "either INFO or DETAIL to print parameter names for further debugging.")


def _ddp_sink():
    """PyTorch's ``_DDPSink``: outputs pass through one autograd Function (as clones) whose
    backward hands on None for outputs the loss did not use, so the parameters behind them
    see a None gradient instead of none at all (``find_unused_parameters``)."""
    from ...autograd import Function

    class _DDPSink(Function):
        @staticmethod
        def forward(ctx, *inputs):
            ctx.set_materialize_grads(False)
            return tuple(inp.clone() for inp in inputs)

        @staticmethod
        def backward(ctx, *grad_outputs):
            return grad_outputs

    return _DDPSink


class DistributedDataParallel(Module):
    """Data parallelism across the processes of ``process_group`` (see the module's contract).

    Each process wraps its own replica; gradients are averaged during ``backward``.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=None, init_sync=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None, skip_all_reduce_unused_params=False,
                 bucket_cap_mb_list=None, batched_grad_copy=False, forward_sync_buffers=None):
        super().__init__()
        dist = _dist()
        if (delay_all_reduce_named_params is not None) != (param_to_hook_all_reduce is not None):
            raise ValueError("delay_all_reduce_named_params and param_to_hook_all_reduce need to "
                             "be set at the same time.")
        if process_group and device_mesh is not None:
            raise RuntimeError("Cannot specify both process_group and device_mesh arguments.")
        for name, value in (("delay_all_reduce_named_params", delay_all_reduce_named_params),
                            ("mixed_precision", mixed_precision), ("device_mesh", device_mesh)):
            if value is not None:
                raise NotImplementedError(f"ember's DistributedDataParallel does not support "
                                          f"{name}")
        self.process_group = (process_group if process_group is not None
                              else dist.distributed_c10d._default_group())
        self.parameters_to_ignore = set(getattr(module, "_ddp_params_and_buffers_to_ignore", ()))
        self._module_parameters = [p for n, p in module.named_parameters()
                                   if n not in self.parameters_to_ignore]
        if not any(p.requires_grad for p in self._module_parameters):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have "
                               "any parameter that requires a gradient.")
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError("device_ids can only be None or contain a single element.")
        device_types = {p.device.type for p in self._module_parameters}
        if len(device_types) != 1:
            raise ValueError("DistributedDataParallel's input module must be on the same type "
                             f"of devices, but input module parameters locate in "
                             f"{device_types}.")
        self.device_type = next(iter(device_types))
        if device_ids or output_device:
            # (every ember module is a CPU module, which takes neither)
            devices = {p.device for p in self._module_parameters}
            raise ValueError(
                "DistributedDataParallel device_ids and output_device arguments only work with "
                "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                f"{device_ids}, output_device {output_device}, and module parameters "
                f"{devices}.")
        self.device_ids = None
        self.output_device = None
        self.is_multi_device_module = False
        self.static_graph = False
        self.dim = dim
        self.module = module
        self.device = self._module_parameters[0].device
        if broadcast_buffers is not None:
            if forward_sync_buffers is not None:
                warnings.warn(
                    "Both `broadcast_buffers` and `forward_sync_buffers` were specified. "
                    "`broadcast_buffers` is deprecated and its value is ignored when "
                    "`forward_sync_buffers` is provided.", FutureWarning, stacklevel=2)
            else:
                warnings.warn(
                    "`broadcast_buffers` is deprecated. Use `forward_sync_buffers` instead. "
                    "IMPORTANT: unlike `broadcast_buffers=False`, `forward_sync_buffers=False` "
                    "still syncs buffers at init. If you rely on buffers NOT being synced at "
                    "init (e.g. rank-local buffers), keep using `broadcast_buffers=False` until "
                    "`init_sync_buffers` is available.", FutureWarning, stacklevel=2)
        if forward_sync_buffers is not None:
            self.forward_sync_buffers = forward_sync_buffers
            init_sync_buffers = True
        else:
            effective = broadcast_buffers if broadcast_buffers is not None else True
            self.forward_sync_buffers = effective
            init_sync_buffers = effective
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.batched_grad_copy = batched_grad_copy
        self.mixed_precision = None
        self.skip_all_reduce_unused_params = skip_all_reduce_unused_params
        if check_reduction:
            warnings.warn("The `check_reduction` argument in `DistributedDataParallel` module is "
                          "deprecated. Please avoid using it.", FutureWarning, stacklevel=2)
        self.broadcast_bucket_size = 250 * 1024 * 1024

        # bucket capacities (PyTorch's _BucketCapacityConfig)
        default_cap = bucket_cap_mb is None
        cap_mb = _DEFAULT_BUCKET_CAP_MB if default_cap else bucket_cap_mb
        per_bucket = ()
        if bucket_cap_mb_list:
            per_bucket = tuple(int(c * _MB_TO_BYTES) for c in bucket_cap_mb_list)
            cap_mb = max(bucket_cap_mb_list)
            default_cap = False
        self.bucket_bytes_cap = int(cap_mb * _MB_TO_BYTES)
        self.bucket_bytes_cap_list = list(per_bucket)
        first_cap = _DEFAULT_FIRST_BUCKET_BYTES if default_cap else self.bucket_bytes_cap
        self.bucket_bytes_cap_default = first_cap < self.bucket_bytes_cap

        parameters = self._build_params_for_reducer()
        if init_sync:
            self._sync_module_states(init_sync_buffers)

        self._reducer_config = (per_bucket, first_cap, find_unused_parameters,
                                gradient_as_bucket_view, static_graph)
        self.reducer = self._make_reducer(parameters)
        self._has_rebuilt_buckets = False
        if static_graph:
            self.static_graph = True

    def _make_reducer(self, parameters):
        # Initial buckets: all in one until the real gradient order is known (rebuilt at the
        # second forward), unless unused parameters are searched for (never rebuilt).
        per_bucket, first_cap, find_unused, as_view, static_graph = self._reducer_config
        if per_bucket:
            limits = list(per_bucket)
        elif static_graph or not find_unused:
            limits = [sys.maxsize]
        elif first_cap < self.bucket_bytes_cap:
            limits = [first_cap, self.bucket_bytes_cap]
        else:
            limits = [self.bucket_bytes_cap]
        bucket_indices = _compute_bucket_assignment_by_size(parameters, limits)
        # (reversed: the last registered parameters get their gradients first)
        return _Reducer(self, parameters, list(reversed(bucket_indices)), self.bucket_bytes_cap,
                        first_cap, find_unused, as_view, static_graph)

    # ---- construction -----------------------------------------------------------------------
    def _build_params_for_reducer(self):
        """Parameters that require grad, in registration order, shared ones once."""
        parameters, memo = [], set()
        for module_name, module in self.module.named_modules():
            for param_name, param in module.named_parameters(recurse=False):
                fqn = f"{module_name}.{param_name}" if module_name else param_name
                if (param.requires_grad and fqn not in self.parameters_to_ignore
                        and id(param) not in memo):
                    memo.add(id(param))
                    parameters.append(param)
        self._assign_modules_buffers()
        return parameters

    def _assign_modules_buffers(self):
        # (read again before each sync: a module may reassign its buffers)
        named = [(name, b) for name, b in self.module.named_buffers()
                 if name not in self.parameters_to_ignore]
        self.modules_buffers = [b for _, b in named]
        self.named_module_buffers = dict(named)

    def _sync_module_states(self, broadcast_buffers):
        states = [p for n, p in self.module.named_parameters()
                  if n not in self.parameters_to_ignore]
        if broadcast_buffers:
            states += [b for n, b in self.module.named_buffers()
                       if n not in self.parameters_to_ignore]
        self._broadcast_coalesced(states, 0)

    def _broadcast_coalesced(self, tensors, authoritative_rank):
        """Broadcast ``tensors`` from ``authoritative_rank`` (a group rank), one flat message
        per dtype, written into the tensors' memory without moving their version counters
        (PyTorch writes them outside autograd too)."""
        import numpy as np

        from ...creation import from_numpy

        dist = _dist()
        src = dist.get_global_rank(self.process_group, authoritative_rank)
        by_dtype = {}
        for t in tensors:
            by_dtype.setdefault(t._data.dtype, []).append(t)
        for group in by_dtype.values():
            flat = np.concatenate([t._data.reshape(-1) for t in group])
            dist.broadcast(from_numpy(flat), src, group=self.process_group)
            if self.process_group.rank() != authoritative_rank:
                offset = 0
                for t in group:
                    n = t._data.size
                    np.copyto(t._data, flat[offset:offset + n].reshape(t._data.shape))
                    offset += n

    # ---- forward ----------------------------------------------------------------------------
    @contextmanager
    def no_sync(self):
        """Inside, backward passes only accumulate gradients locally; the first synchronized
        backward after it reduces the accumulated gradients. (The forward must run inside.)"""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def will_sync_module_buffers(self):
        return (self.require_forward_param_sync and self.forward_sync_buffers
                and len(self.modules_buffers) > 0)

    def _sync_buffers(self):
        self._assign_modules_buffers()
        self._broadcast_coalesced(self.modules_buffers, 0)

    def _pre_forward(self):
        from ...autograd.grad_mode import is_grad_enabled

        if is_grad_enabled() and self.require_backward_grad_sync:
            self.reducer.num_iterations += 1
        if is_grad_enabled() and self.reducer.rebuild_buckets():
            self._has_rebuilt_buckets = True
        if self.will_sync_module_buffers():
            self._sync_buffers()

    def _post_forward(self, output):
        from ...autograd.grad_mode import is_grad_enabled

        if is_grad_enabled() and self.require_backward_grad_sync:
            self.require_forward_param_sync = True
            if self.find_unused_parameters and not self.static_graph:
                self.reducer.prepare_for_backward(_find_tensors(output))
            else:
                self.reducer.prepare_for_backward([])
        else:
            self.require_forward_param_sync = False
        if self.find_unused_parameters and not self.static_graph:
            output = self._through_sink(output)
        return output

    def _through_sink(self, output):
        from ..._pytree import tree_flatten, tree_unflatten
        from ...tensor import Tensor

        leaves, spec = tree_flatten(output)
        through = [i for i, x in enumerate(leaves)
                   if isinstance(x, Tensor) and x.grad_fn is not None]
        if not through:
            return output
        passed = _ddp_sink().apply(*[leaves[i] for i in through])
        if isinstance(passed, Tensor):
            passed = (passed,)
        for i, t in zip(through, passed):
            leaves[i] = t
        return tree_unflatten(leaves, spec)

    def forward(self, *inputs, **kwargs):
        self._pre_forward()
        output = self.module(*inputs, **kwargs)
        return self._post_forward(output)

    def train(self, mode=True):
        super().train(mode)
        return self

    def __getstate__(self):
        # (as PyTorch: the process group and the reducer stay behind; unpickling rebuilds the
        # reducer on the default group)
        attrs = dict(self.__dict__)
        del attrs["process_group"]
        del attrs["reducer"]
        return attrs

    def __setstate__(self, state):
        super().__setstate__(state)
        self.process_group = _dist().distributed_c10d._default_group()
        self.require_forward_param_sync = True
        self.require_backward_grad_sync = True
        self.reducer = self._make_reducer(self._build_params_for_reducer())
