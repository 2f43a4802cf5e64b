"""What every galaxyml.torch module shares: the file it came from (config
text, dtypes of the stored arrays, extra group, provenance) and `save`,
which writes that file back with the module's current values."""
import json

import numpy as np
import torch
from torch import nn

from .. import model_file
from ..errors import FormatError

GROUPS = ("tensors", "normalization")


def check_config(config, known, family, path):
    """Refuses a config that is not an object or names a key this version
    does not know: such a file may describe a network the module would
    compute differently. `known` maps each key to its default."""
    if not isinstance(config, dict):
        raise FormatError(f"{family} model file '{path}': config is not a JSON object")
    unknown = sorted(set(config) - set(known))
    if unknown:
        raise FormatError(
            f"{family} model file '{path}': unknown config key(s) {', '.join(unknown)}; "
            f"galaxyml.torch knows {', '.join(sorted(known))}")
    out = dict(known)
    out.update(config)
    return out


class GalaxymlModule(nn.Module):
    """Base of the modules of galaxyml.torch. Holds the model file's
    content besides the parameters; `save` writes it back."""

    family = None

    def _init_file(self, mf, path):
        # The stored config text is written back verbatim while the config
        # is unchanged: a re-serialisation could differ in a float's
        # digits or a key's order and change the checksum.
        self.config = mf.config
        self._config_text = mf.attrs.get("config", json.dumps(mf.config))
        self._config_original = json.loads(self._config_text)
        self._layout = {g: {name: a.dtype for name, a in getattr(mf, g).items()}
                        for g in GROUPS}
        self.extra = dict(mf.extra)
        self.provenance = mf.attrs.get("provenance", "{}")
        self.checksum = mf.checksum
        self.path = path

    def _load_arrays(self, mf, path):
        """Copies the file's tensors and normalization into the module's
        parameters and buffers of the same names, refusing a missing or
        unexpected name and a shape that differs from the config's."""
        state = self.state_dict()
        names = {}
        for g in GROUPS:
            for name in getattr(mf, g):
                if name in names:
                    raise FormatError(f"{self.family} model file '{path}': '{name}' is stored "
                                      "in both tensors and normalization")
                names[name] = g
        missing = sorted(set(state) - set(names))
        unexpected = sorted(set(names) - set(state))
        if missing or unexpected:
            raise FormatError(
                f"{self.family} model file '{path}' does not match its config: "
                f"missing {missing or 'nothing'}, unexpected {unexpected or 'nothing'}")
        with torch.no_grad():
            for name, target in state.items():
                value = np.asarray(getattr(mf, names[name])[name])
                if tuple(value.shape) != tuple(target.shape):
                    raise FormatError(
                        f"{self.family} model file '{path}': '{name}' has shape "
                        f"{tuple(value.shape)}, the config gives {tuple(target.shape)}")
                target.copy_(torch.from_numpy(np.array(value)).to(target.dtype))

    def _config_for_save(self):
        if self.config == self._config_original:
            return self._config_text
        return json.dumps(self.config, separators=(",", ":"), ensure_ascii=False)

    def file_arrays(self):
        """The tensors and normalization groups as the file stores them:
        dicts name -> numpy array in the dtype each was read with."""
        state = self.state_dict()
        out = {}
        for g in GROUPS:
            out[g] = {}
            for name, dtype in self._layout[g].items():
                t = state[name].detach().to("cpu")
                if dtype == np.uint8 and t.dtype == torch.bool:
                    t = t.to(torch.uint8)
                out[g][name] = t.numpy().astype(dtype, copy=False)
        return out

    def save(self, path, provenance=None):
        """Writes the module as a galaxyml model file (atomically) and
        returns its checksum. Names, dtypes and shapes are those of the
        file it was loaded from, so an unchanged module gives the same
        checksum. provenance: a dict, or None to keep the loaded file's."""
        arrays = self.file_arrays()
        return model_file.write(
            path, self.family, self._config_for_save(), arrays["tensors"],
            normalization=arrays["normalization"], extra=self.extra,
            provenance=self.provenance if provenance is None else provenance)


def as_tensor(value, dtype, device, name):
    """A float tensor on the module's device; numpy arrays and lists are
    accepted, anything else than a real array is refused."""
    t = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"{name}: expected a real array, got dtype {t.dtype}")
    return t.to(device=device, dtype=dtype)
