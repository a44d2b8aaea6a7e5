"""``methodzoo cap-prune ...``: fine-tune a teacher, prune it with CAP, evaluate a saved model.

    methodzoo cap-prune finetune --model minilm-l6 --task snli --out teacher/
    methodzoo cap-prune prune unstructured --teacher teacher/ --out pruned/ [--pruner movement --sparsity 0.9]
    methodzoo cap-prune prune structured --teacher teacher/ --out heads/ [--ratios 0.2 0.4 0.6]
    methodzoo cap-prune eval --model pruned/ --task snli

Every config field is a flag (``--help``). Runs under ``torchrun`` (data parallel through the
core) for ``finetune`` and ``prune unstructured``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``methodzoo cap-prune`` with ``finetune``, ``prune`` and ``eval``."""
    from methodzoo.cap_prune.config import (
        ContrastiveConfig,
        DataConfig,
        DistillConfig,
        FinetuneConfig,
        StructuredConfig,
        UnstructuredConfig,
    )
    from methodzoo.shared.cli import add_common_arguments

    parser = subparsers.add_parser("cap-prune", help="CAP: contrastive pruning of pre-trained language models")
    commands = parser.add_subparsers(dest="cap_command", metavar="COMMAND", parser_class=type(parser))
    commands.required = True

    finetune = commands.add_parser("finetune", help="fine-tune the dense teacher")
    finetune.add_argument("--model", default="minilm-l6", help="pretrained name or local BERT folder (default: minilm-l6)")
    finetune.add_argument("--out", required=True, help="folder for model.safetensors and checkpoints")
    finetune.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    DataConfig.add_arguments(finetune)
    FinetuneConfig.add_arguments(finetune)
    add_common_arguments(finetune)
    finetune.set_defaults(handler=_finetune)

    prune = commands.add_parser("prune", help="prune a fine-tuned teacher with CAP")
    modes = prune.add_subparsers(dest="cap_mode", metavar="MODE", parser_class=type(parser))
    modes.required = True
    for mode, config_type, help_text in (
            ("unstructured", UnstructuredConfig, "movement / soft movement / magnitude under the cubic schedule"),
            ("structured", StructuredConfig, "heads and FFN neurons by mask-gradient importance (CAP-f)")):
        command = modes.add_parser(mode, help=help_text)
        command.add_argument("--teacher", required=True, help="folder of a model saved by 'cap-prune finetune'")
        command.add_argument("--model", default=None,
                             help="pre-trained source for PrC and init_from=pretrained (default: the teacher's)")
        command.add_argument("--out", required=True, help="folder for the pruned model (and checkpoints)")
        if mode == "unstructured":
            command.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
        DataConfig.add_arguments(command)
        config_type.add_arguments(command)
        ContrastiveConfig.add_arguments(command)
        DistillConfig.add_arguments(command)
        add_common_arguments(command)
        command.set_defaults(handler=_prune_unstructured if mode == "unstructured" else _prune_structured)

    evaluate = commands.add_parser("eval", help="accuracy, sparsity and size of a saved model")
    evaluate.add_argument("--model", required=True, help="folder of a saved cap-prune model")
    evaluate.add_argument("--compact", action="store_true",
                          help="also remove masked heads/neurons; report sizes, FLOPs and the measured speed-up")
    DataConfig.add_arguments(evaluate, exclude=("train_limit",))
    add_common_arguments(evaluate, seed=False)
    evaluate.set_defaults(handler=_eval)


def _context(device: str) -> Any:
    """The ``torchrun`` process group (or a single process), with this process's device."""
    from methodzoo.shared.train import setup_distributed

    return setup_distributed(device)


def _finetune(args: argparse.Namespace) -> int:
    from methodzoo.cap_prune.config import DataConfig, FinetuneConfig
    from methodzoo.cap_prune.models import classifier_from_source, load_source, save_classifier
    from methodzoo.cap_prune.pipeline import load_data
    from methodzoo.cap_prune.train import finetune
    from methodzoo.shared.cli import emit
    from methodzoo.shared.train import teardown_distributed

    data_config, config = DataConfig.from_args(args), FinetuneConfig.from_args(args)
    context = _context(args.device)
    source = load_source(args.model)
    data = load_data(source.tokenizer, data_config)
    model = classifier_from_source(source, data.train.num_labels, seed=args.seed,
                                   head_input=config.head_input).to(context.device)
    result = finetune(model, data.train, config, seed=args.seed, test=data.test if context.is_main else None,
                      checkpoint_dir=Path(args.out) / "checkpoints", resume=args.resume, context=context)
    if context.is_main:
        save_classifier(args.out, model, label_names=data.train.label_names, tokenizer_source=source.name,
                        extra={"finetune": config.to_dict(), "data": data_config.to_dict(), "seed": args.seed,
                               "accuracy": result.accuracy})
        summary = {"accuracy": result.accuracy, "steps": result.steps, "step_ms": result.step_ms,
                   "saved": str(Path(args.out) / "model.safetensors")}
        emit(summary, as_json=args.json, text=lambda r: (
            f"teacher accuracy {r['accuracy']:.4f} on {data_config.task} test after {r['steps']} steps "
            f"({r['step_ms']:.0f} ms/step); saved {r['saved']}"))
    teardown_distributed(context)
    return 0


def _prepare(args: argparse.Namespace, contrastive: Any, distill: Any, device: Any) -> tuple[Any, ...]:
    from methodzoo.cap_prune.config import DataConfig
    from methodzoo.cap_prune.models import load_classifier, load_source
    from methodzoo.cap_prune.pipeline import fixed_targets, load_data

    data_config = DataConfig.from_args(args)
    saved = load_classifier(args.teacher)
    source = load_source(args.model or saved.tokenizer_source)
    data = load_data(source.tokenizer, data_config)
    if data.train.label_names != saved.label_names:
        from methodzoo.shared.errors import UserError

        raise UserError(f"the teacher was trained on labels {list(saved.label_names)}, the task has "
                        f"{list(data.train.label_names)}")
    teacher = saved.model.to(device)
    outputs, pretrained = fixed_targets(teacher, source, data.train, contrastive, distill)
    return data_config, source, data, teacher, outputs, pretrained


def _prune_unstructured(args: argparse.Namespace) -> int:
    from methodzoo.cap_prune.config import ContrastiveConfig, DistillConfig, UnstructuredConfig
    from methodzoo.cap_prune.models import save_classifier
    from methodzoo.cap_prune.pipeline import make_student
    from methodzoo.cap_prune.train import prune_unstructured
    from methodzoo.shared.cli import emit
    from methodzoo.shared.train import teardown_distributed

    config, contrastive, distill = (UnstructuredConfig.from_args(args), ContrastiveConfig.from_args(args),
                                    DistillConfig.from_args(args))
    context = _context(args.device)
    data_config, source, data, teacher, outputs, pretrained = _prepare(args, contrastive, distill, context.device)
    student = make_student(config.init_from, teacher, source, contrastive, args.seed)
    result = prune_unstructured(student, data.train, config, contrastive, distill, teacher=outputs,
                                pretrained=pretrained, seed=args.seed, test=data.test if context.is_main else None,
                                checkpoint_dir=Path(args.out) / "checkpoints", resume=args.resume, context=context)
    if context.is_main:
        save_classifier(args.out, student, label_names=data.train.label_names, tokenizer_source=source.name,
                        extra={"unstructured": config.to_dict(), "contrastive": contrastive.to_dict(),
                               "distill": distill.to_dict(), "data": data_config.to_dict(), "seed": args.seed,
                               "accuracy": result.accuracy, "sparsity": result.sparsity})
        summary = {**result.to_dict(), "saved": str(Path(args.out) / "model.safetensors")}
        emit(summary, as_json=args.json, text=lambda r: (
            f"{config.pruner} + {'+'.join(contrastive.banks) or 'CE+KD only'}: accuracy {r['accuracy']:.4f} at "
            f"encoder sparsity {r['sparsity']:.4f} after {r['steps']} steps ({r['step_ms']:.0f} ms/step); "
            f"saved {r['saved']}"))
    teardown_distributed(context)
    return 0


def _prune_structured(args: argparse.Namespace) -> int:
    from methodzoo.cap_prune.config import ContrastiveConfig, DistillConfig, StructuredConfig
    from methodzoo.cap_prune.models import save_classifier
    from methodzoo.cap_prune.pipeline import make_student
    from methodzoo.cap_prune.train import prune_structured
    from methodzoo.shared.cli import emit
    from methodzoo.shared.device import resolve_device

    config, contrastive, distill = (StructuredConfig.from_args(args), ContrastiveConfig.from_args(args),
                                    DistillConfig.from_args(args))
    device = resolve_device(args.device)
    _, source, data, teacher, outputs, pretrained = _prepare(args, contrastive, distill, device)
    student = make_student(config.init_from, teacher, source, contrastive, args.seed)

    def save(step: Any, model: Any) -> None:
        save_classifier(Path(args.out) / f"ratio-{round(100 * step.ratio):02d}", model,
                        label_names=data.train.label_names, tokenizer_source=source.name,
                        extra={"structured": config.to_dict(), "ratio": step.ratio, "accuracy": step.accuracy})

    steps = prune_structured(student, data.train, config, contrastive, distill, teacher=outputs,
                             pretrained=pretrained, seed=args.seed, test=data.test, on_step=save)
    rows = [vars(step) for step in steps]
    emit({"steps": rows, "saved": args.out}, as_json=args.json, text=lambda r: "\n".join(
        f"{s['ratio']:.0%} pruned: {s['heads_kept']} heads, {s['neurons_kept']} FFN neurons, "
        f"{s['encoder_parameters']:,} encoder parameters after compact, accuracy {s['accuracy']:.4f}"
        for s in r["steps"]))
    return 0


def _eval(args: argparse.Namespace) -> int:
    import torch

    from methodzoo.cap_prune.config import DataConfig
    from methodzoo.cap_prune.data import load_tokenized
    from methodzoo.cap_prune.models import load_classifier, load_tokenizer
    from methodzoo.cap_prune.train import evaluate
    from methodzoo.cap_prune.unstructured import encoder_sparsity
    from methodzoo.shared.cli import emit
    from methodzoo.shared.device import resolve_device
    from methodzoo.shared.modules import count_parameters

    data_config = DataConfig.from_args(args, train_limit=None)
    saved = load_classifier(args.model)
    model = saved.model.to(resolve_device(args.device))
    test = load_tokenized(data_config.task, "test", load_tokenizer(saved.tokenizer_source), data_config.max_length,
                          limit=data_config.test_limit, data_root=data_config.data_root)
    count = encoder_sparsity(model)
    result: dict[str, Any] = {"accuracy": evaluate(model, test), "examples": len(test),
                              "encoder_sparsity": count.sparsity, "encoder_weights": count.total,
                              "encoder_nonzero": count.total - count.pruned,
                              "heads": list(model.config.heads), "intermediate": list(model.config.intermediate)}
    if args.compact:
        from methodzoo.shared.compress import bake_all_, report

        small = bake_all_(model).compact()
        batch = test.batch(torch.arange(min(len(test), 32)), next(model.parameters()).device)
        # α, FLOPs and δ of the compacted model against the masked one: what removing the heads
        # and neurons buys in size and measured speed, not just in nominal sparsity.
        accounting = report(model, small, *batch.inputs, rounds=10, warmup=2).to_dict()
        result.update({"heads_after_compact": list(small.config.heads),
                       "intermediate_after_compact": list(small.config.intermediate),
                       "parameters": count_parameters(model), "parameters_after_compact": count_parameters(small),
                       "accuracy_after_compact": evaluate(small, test),
                       **{f"compact_{key}": value for key, value in accounting.items()}})
    emit(result, as_json=args.json, text=lambda r: "\n".join(f"{k}: {v}" for k, v in r.items()))
    return 0
