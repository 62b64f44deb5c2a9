# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

# -- General configuration ----------------------------------------------------

# Add any Sphinx extension module names here, as strings. They can be
# extensions coming with Sphinx (named 'sphinx.ext.*') or your custom ones.
extensions = [
    'openstackdocstheme',
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
]

# oslo_config.sphinxconfiggen: write the sample configuration file to
# doc/source/_static/vmheartbeatmonitor.conf.sample at build time (the
# directory is created if missing), so that configuration/index.rst can
# include it and offer it for download. No html_static_path: the directory
# is not in git, and Sphinx would warn about it before it is created.
config_generator_config_file = (
    '../../etc/masakarimonitors_ext/'
    'vmheartbeatmonitor-config-generator.conf')
sample_config_basename = '_static/vmheartbeatmonitor'

# openstackdocstheme options
openstackdocs_repo_name = 'openstack/masakari-monitors-ext'
openstackdocs_use_storyboard = False
openstackdocs_bug_project = 'masakari-monitors-ext'
openstackdocs_bug_tag = 'doc'
openstackdocs_auto_name = False

# The suffix of source filenames.
source_suffix = '.rst'

# The root toctree document.
root_doc = 'index'

# General information about the project.
project = 'masakari-monitors-ext'
copyright = '2025, OpenStack Foundation'

# If true, '()' will be appended to :func: etc. cross-reference text.
add_function_parentheses = True

# If true, the current module name will be prepended to all description
# unit titles (such as .. function::).
add_module_names = True

# The name of the Pygments (syntax highlighting) style to use.
pygments_style = 'native'

# -- Options for HTML output --------------------------------------------------

html_theme = 'openstackdocs'

# Output file base name for HTML help builder.
htmlhelp_basename = '%sdoc' % project
