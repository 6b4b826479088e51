# SPDX-License-Identifier: Apache-2.0
"""hubsite's Slurm spawner: batchspawner's MultiSlurmSpawner with an options form checked against site limits.

- MultiSlurmSpawner's daemon_resolver maps the node name squeue reports to the node's address, so the proxy
  route points at an address the hub hosts reach (the role fills it from the inventory).
- The user's choices (form or REST API) are checked by hubsite_slurm_options against hubsite_limits before the
  job is submitted; only partition, cores, memory and run time reach the batch script.
"""

from __future__ import annotations

from batchspawner import MultiSlurmSpawner
from hubsite_slurm_options import OptionsError, batch_vars, form_html, from_form, normalize
from traitlets import Dict, default


class HubsiteSlurmSpawner(MultiSlurmSpawner):
    hubsite_limits = Dict(
        help="Partitions and resource bounds users may choose from (hubsite_slurm_options.LIMIT_KEYS).",
    ).tag(config=True)

    @default("options_form")
    def _hubsite_options_form(self):
        return form_html(self.hubsite_limits)

    @default("options_from_form")
    def _hubsite_options_from_form_default(self):
        return self._hubsite_options_from_form

    def _hubsite_options_from_form(self, form_data):
        return from_form(form_data, self.hubsite_limits)

    async def start(self):
        try:
            options = normalize(self.user_options or {}, self.hubsite_limits)
        except OptionsError as exc:
            raise ValueError(f"Cannot start the server: {exc}") from None
        # batchspawner merges user_options into its template variables: keep only the checked ones (their
        # keys are not template variables except partition), and hand the values over as its req_* traits.
        self.user_options = options
        for key, value in batch_vars(options).items():
            setattr(self, f"req_{key}", value)
        return await super().start()
