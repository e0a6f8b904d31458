"""Each model declares its own options in one place (issue 16, item 3): a toy model's new hyperparameter
becomes a `colorcore train` flag and a Training tab control and reaches the run's model config; files
written before the options were per model still load."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import torch
from PySide6.QtWidgets import QLabel
from torch import Tensor, nn

from tests.gui_fixtures import *  # noqa: F401,F403

from colorcore.models import losses
from colorcore.cli import main
from colorcore.models.base import MODEL_REGISTRY, ColorModel, GANOptions, ModelConfig, ModelOptions, StepContext, register
from colorcore.models.base import Batch, optimizer_step
from colorcore.core.options import option
from colorcore.training.presets import PRESETS


@dataclass(frozen=True)
class ToyOptions(ModelOptions):
    smoothness: float = option(0.25, "weight of the toy smoothness term", label="Toy smoothness",
                               low=0.0, high=10.0, step=0.05, decimals=2)


class ToyModel(ColorModel):
    """A 1x1 convolution from gray to colour; its loss is L1 plus `smoothness` times the vertical variation."""

    name: ClassVar[str] = "toy"
    loss_names: ClassVar[tuple[str, ...]] = ("l1",)
    options_class: ClassVar[type[ModelOptions]] = ToyOptions
    presets: ClassVar[dict[str, dict[str, float]]] = {
        preset: {"lr_g": 1e-3, "lr_warmup_steps": 0, "epochs": 1} for preset in PRESETS
    }

    def __init__(self, config: ModelConfig, pretrained: bool = True) -> None:
        super().__init__(config)
        self.generator = nn.Conv2d(3, 3, 1)

    def networks(self) -> dict[str, nn.Module]:
        return {"g": self.generator}

    def set_network(self, key: str, module: nn.Module) -> None:
        self.generator = module

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": torch.optim.Adam(self.generator.parameters(), lr=self.hyperparameter("lr_g"))}

    def training_step(self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer],
                      ctx: StepContext) -> dict[str, Tensor]:
        with ctx.autocast():
            fake = self.generator(batch["gray"]).float()
        variation = (fake[..., 1:, :] - fake[..., :-1, :]).abs().mean()
        loss = losses.l1_loss(fake, batch["rgb"]) + self.config.options.smoothness * variation
        optimizer_step(loss, optimizers["g"], ctx.scaler)
        if ctx.scaler is not None:
            ctx.scaler.update()
        return {"l1": loss.detach()}

    @torch.no_grad()
    def predict(self, gray: Tensor) -> dict[str, Tensor]:
        return {"rgb": torch.tanh(self.generator(gray))}


@pytest.fixture
def toy_model():
    """ToyModel in the registry for one test only."""
    register(ToyModel)
    yield ToyModel
    del MODEL_REGISTRY[ToyModel.name]


def test_a_declared_option_becomes_a_flag_that_reaches_the_run(
    toy_model, prepared_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from colorcore.models.checkpoint import load_model

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--smoothness SMOOTHNESS weight of the toy smoothness term (toy; default: 0.25)" in " ".join(
        capsys.readouterr().out.split())

    run = tmp_path / "run"
    assert main(["train", str(prepared_dataset), str(run), "--model", "toy", "--smoothness", "0.5", "--width", "4",
                 "--batch-size", "3", "--device", "cpu", "--max-steps", "1", "--eval-subset", "0"]) == 0
    recorded = json.loads((run / "config.json").read_text())["model"]
    assert recorded["name"] == "toy" and recorded["smoothness"] == 0.5 and recorded["width"] == 4
    assert "lambda_sal" not in recorded and "gan_loss" not in recorded  # no other model's options
    assert load_model(run).config.options == ToyOptions(smoothness=0.5)  # the exported model carries it

    capsys.readouterr()
    assert main(["train", str(prepared_dataset), str(tmp_path / "r2"), "--smoothness", "0.5"]) == 2
    assert "--smoothness does not apply to the multipath model (only to toy)" in capsys.readouterr().err
    assert main(["train", str(prepared_dataset), str(tmp_path / "r3"), "--model", "toy", "--lambda-sal", "1"]) == 2
    assert "--lambda-sal does not apply to the toy model (only to multipath)" in capsys.readouterr().err
    assert not (tmp_path / "r2").exists() and not (tmp_path / "r3").exists()


def test_the_training_tab_shows_a_declared_option_for_its_model_only(toy_model, main_window, qtbot) -> None:
    from app.tabs.training import TrainingTab

    tab = main_window.training_tab
    tab.model_combo.setCurrentText("toy")
    smoothness = tab.option_widget("smoothness")
    assert not smoothness.isHidden() and smoothness.value() == 0.25 and smoothness.maximum() == 10.0
    assert tab.option_widget("lambda_l1").isHidden() and tab.resnet_combo.isHidden()
    assert "Toy smoothness" in [label.text() for label in tab.options_box.findChildren(QLabel) if not label.isHidden()]
    smoothness.setValue(0.5)
    model = tab.train_config().model
    assert model.name == "toy" and model.options == ToyOptions(smoothness=0.5)

    tab.model_combo.setCurrentText("multipath")
    assert smoothness.isHidden() and not tab.option_widget("lambda_sal").isHidden()
    tab.model_combo.setCurrentText("toy")
    tab.save_settings()
    again = TrainingTab(main_window.settings)
    qtbot.addWidget(again)
    assert again.model_combo.currentText() == "toy" and again.option_widget("smoothness").value() == 0.5


def test_model_files_and_run_folders_written_before_per_model_options_still_load(tmp_path: Path) -> None:
    from colorcore.models.checkpoint import load_model, read_metadata
    from colorcore.training.runs import RunFolder
    from colorcore.models.settings import starter_model_path

    # the starter model's metadata has every field ModelConfig once had, "extra" included
    recorded = read_metadata(starter_model_path())["model_config"]
    assert {"lambda_sal", "resnet_weights", "extra"} <= set(recorded)
    config = ModelConfig.from_dict(recorded)
    # options added since (the trunk) take their defaults, which give the architecture the file was made with
    assert {k: v for k, v in config.to_dict().items() if k != "trunk"} == \
        {key: value for key, value in recorded.items() if key != "extra"}
    assert config.trunk == "auto" and load_model(starter_model_path()).generator.trunk == "none"
    assert load_model(starter_model_path()).config == config

    # an older scgan run recorded the multipath-only options too: they are dropped, its own are kept
    old_model = {**recorded, "name": "scgan", "lambda_l1": 2.0, "gan_loss": "lsgan"}
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"data": "data", "run_dir": "run", "model": old_model,
                                                 "batch_size": 3}))
    model = RunFolder(run).train_config().model
    assert model.options == GANOptions(gan_loss="lsgan", lambda_l1=2.0, lambda_gan=recorded["lambda_gan"])
    assert model.lambda_l1 == 2.0 and model.lambda_sal is None  # another model's option does not apply
    assert "lambda_sal" not in model.to_dict()

    with pytest.raises(TypeError, match="lamda_l1"):  # a misspelt option is no option of any model
        ModelConfig(lamda_l1=2.0)
    switched = ModelConfig(width=8, resnet_weights="none", lambda_l1=3.0).with_(name="scgan")
    assert switched.options == GANOptions(lambda_l1=3.0) and switched.width == 8


def test_an_option_named_in_another_options_help_is_worded_by_each_front_end(main_window, capsys) -> None:
    """The command line names the option by its flag, the Training tab by its control's label."""
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    cli_help = " ".join(capsys.readouterr().out.split())
    assert "unless --finetune-resnet trains it" in cli_help and "{option:" not in cli_help
    tooltip = main_window.training_tab.option_widget("resnet_weights").toolTip()
    assert "unless \u201cTrain ResNet-18\u201d trains it" in tooltip
    assert "--" not in tooltip and "{option:" not in tooltip
