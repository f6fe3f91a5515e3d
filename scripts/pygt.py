"""Loads PyTorch Geometric Temporal's GConvLSTM and GConvGRU for the optional peer
scripts (peers.py, make-torch-fixtures.py).

PyG-Temporal 0.56's package __init__ imports every model, and evolvegcno.py needs
torch_sparse (not installed with plain torch_geometric 2.x). The two cells only need
torch_geometric, so if the package import fails their files are loaded directly."""
import importlib.util
import os


def import_pygt(cls):
    """The class `cls` ("GConvLSTM" or "GConvGRU") of torch_geometric_temporal."""
    try:
        import torch_geometric_temporal.nn.recurrent as rec
        return getattr(rec, cls)
    except ImportError:
        spec = importlib.util.find_spec("torch_geometric_temporal")
        base = os.path.join(list(spec.submodule_search_locations)[0], "nn", "recurrent")
        fname = {"GConvLSTM": "gconv_lstm.py", "GConvGRU": "gconv_gru.py"}[cls]
        mspec = importlib.util.spec_from_file_location("pygt_" + fname[:-3], os.path.join(base, fname))
        mod = importlib.util.module_from_spec(mspec)
        mspec.loader.exec_module(mod)
        return getattr(mod, cls)
