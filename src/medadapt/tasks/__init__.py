"""Fine-tuning tasks, one package each, behind one protocol.

    protocol.py    what every task answers (config, fine-tune a seed, load + predict, evaluate, test units,
                   headline metric): study/, commands/ and prediction ask only this
    registry.py    task names (a study's `type:`, the CLI's `finetune <name>`) → task objects; `register` adds one
    seeds.py       the multi-seed layout every task's `finetune` uses (seed-<n>/ folders, summary.json)
    run_folder.py  what a fine-tuning output folder already holds (refuse, --overwrite, --resume)
    windows.py     whole-document tokenization and sliding windows, shared by NER and screening
    ner/           clinical NER: label renaming, span policy, tags, encoding, decoding, the recipe
    screening/     patient screening: notes → patients → chunks → pooled classifier, thresholds, evidence

Nothing here is imported eagerly: `medadapt --help` and config validation stay free of torch.
"""

from medadapt.tasks.registry import get_task, register, task_names

__all__ = ["get_task", "register", "task_names"]
