"""Every whole-model fixture through the files users deploy: the standalone torch folder, TorchScript,
torch.export and (slow) a TensorFlow SavedModel, each run as its users run it, against Keras's outputs."""
import pytest

from kport.errors import ExportError
from fixture_manifest import assert_outputs_close
from test_fixture_backends import _load, one_file_per_entry

TORCH_TARGETS = {
    "torch": ("write_torch", "run_torch_folder", ""),
    "torchscript": ("write_torchscript_target", "run_torchscript_file", ".pt"),
    "pt2": ("write_pt2_target", "run_pt2_file", ".pt2"),
}


def _feeds(graph, fixture):
    return dict(zip(graph.input_names, fixture.inputs()))


@pytest.mark.parametrize("target", list(TORCH_TARGETS))
@pytest.mark.parametrize("fixture", one_file_per_entry())
def test_torch_deliverable_matches_keras(fixture, target, tmp_path):
    pytest.importorskip("torch")
    from kport.exporters.torch import package

    graph = _load(fixture)
    write, run, suffix = TORCH_TARGETS[target]
    path = tmp_path / f"model{suffix}"
    try:
        getattr(package, write)(graph, path)
    except ExportError as err:
        # torch.export's designed refusal: a size the Keras model leaves open would be fixed
        if target != "pt2" or "leaves open" not in str(err):
            raise
        pytest.skip(str(err))
    got = getattr(package, run)(path, _feeds(graph, fixture), graph.outputs)
    assert_outputs_close(got, fixture.outputs(), fixture.atol, fixture.rtol, f"{fixture.id} via {target}")


@pytest.mark.slow
@pytest.mark.parametrize("fixture", one_file_per_entry())
def test_savedmodel_matches_keras(fixture, tmp_path):
    pytest.importorskip("tensorflow")
    from kport.exporters.keras.targets import run_savedmodel, write_savedmodel_target

    graph = _load(fixture)
    write_savedmodel_target(graph, tmp_path / "saved")
    got = run_savedmodel(tmp_path / "saved", _feeds(graph, fixture), graph.outputs)
    assert_outputs_close(got, fixture.outputs(), fixture.atol, fixture.rtol, f"{fixture.id} via SavedModel")


