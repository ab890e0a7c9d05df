"""The workspace permission matrix of spec 01 §5: ONE declarative table, 82 rows, verbatim.

Columns: ``A`` = tenant admin and workspace admin, ``D`` = developer on data they created,
``O`` = operator on data they created, ``X`` = operator on data created by others.
``Y`` allow, ``N`` deny, ``-`` not applicable (the object has no owner yet: creation).
A developer on others' data is denied everywhere (decision A6), except reading datasets shared
with them, which the dataset ACL grants (rows marked ``shared_read``).

Everything that authorizes a workspace action reads this table through
:func:`hangar.tenancy.access.decide`; the tests are generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Effect(StrEnum):
    ALLOW = "Y"
    DENY = "N"
    NOT_APPLICABLE = "-"


class Role(StrEnum):
    """Workspace roles. Tenant admins hold ``ADMIN`` implicitly in every workspace."""

    ADMIN = "admin"
    DEVELOPER = "developer"
    OPERATOR = "operator"


WORKSPACE_LEVEL = frozenset({"workspace_users", "workspace_config"})


@dataclass(frozen=True)
class Point:
    number: int
    key: str
    label: str
    source: str
    admin: Effect
    developer_own: Effect
    operator_own: Effect
    operator_others: Effect
    shared_read: bool = False

    @property
    def namespace(self) -> str:
        """Token-scope namespace (spec 01 T9), e.g. ``dataset`` for ``dataset.view``."""
        return self.key.split(".", 1)[0]

    @property
    def owned(self) -> bool:
        """Whether the point acts on an object with a creator (rows 1-6 act on the workspace)."""
        return self.namespace not in WORKSPACE_LEVEL

    @property
    def creates(self) -> bool:
        """Creation rows: the operator-on-others cell is "n/a" because no owner exists yet."""
        return self.operator_others is Effect.NOT_APPLICABLE


_ROWS = """
1|workspace_users.add|Workspace users – add|工作空间用户-添加|YNNN
2|workspace_users.list|Workspace users – list|工作空间用户-列表|YYYY
3|workspace_users.edit|Workspace users – edit|工作空间用户-编辑|YNNN
4|workspace_users.delete|Workspace users – delete|工作空间用户-删除|YNNN
5|workspace_config.menu|Workspace configuration – menu|工作空间配置-菜单|YNNN
6|workspace_config.button|Workspace configuration – button|工作空间配置-按钮|YNNN
7|dataset.create|Dataset (annotated) – create|数据集-创建|YYYN
8|dataset.delete|Dataset – delete|数据集-删除|YYYN
9|dataset.view|Dataset – view|数据集-查看|YYYN|shared
10|dataset.import|Dataset – import|数据集-导入|YYYN
11|dataset.rename|Dataset – rename|数据集-重命名|YYYN
12|dataset.accelerate|Dataset – normal acceleration|数据集-普通加速|YYYN
13|dataset.publish|Dataset – publish|数据集-发布|YYYN
14|dataset.export|Dataset – export|数据集-导出|YYYN
15|dataset.download|Dataset – download|数据集-下载|YYYN|shared
16|dataset.annotate|Dataset – annotate|数据集-标注|YYYN
17|dataset.clean|Dataset – clean|数据集-清洗|YYYN
18|dataset.push_to_cache|Dataset – push to cache|数据集-推送到高速缓存|YYYN
19|dataset.copy|Dataset – make copy|数据集-制作副本|YYYN
20|dataset.share|Dataset – share / unshare|数据集-分享或取消分享|YYYN
21|basic_dataset.create|Basic dataset – create|基础数据集-创建|YYYN
22|basic_dataset.view|Basic dataset – view|基础数据集-查看|YYYN|shared
23|basic_dataset.change_visibility|Basic dataset – change visibility|基础数据集-修改可见范围|YYYN
24|basic_dataset.rename|Basic dataset – rename|基础数据集-重命名|YYYN
25|basic_dataset.change_mount_path|Basic dataset – change mount path|基础数据集-修改挂载路径|YYYN
26|basic_dataset.delete|Basic dataset – delete|基础数据集-删除|YYYN
27|basic_dataset.view_files|Basic dataset – view files|基础数据集-查看文件|YYYN|shared
28|basic_dataset.accelerate|Basic dataset – accelerate to parallel FS|基础数据集-加速到智算存储|YYYN
29|basic_dataset.backup|Basic dataset – back up to object storage|基础数据集-备份到普通存储|YYYN
30|model.create_record|Model – create model record (shell)|我的模型-新增模型外壳|YYYN
31|model.create_version|Model – create version|我的模型-新增模型版本|YYYN
32|model.check_name|Model – model-record name uniqueness check|我的模型-模型外壳名称去重校验|YYYN
33|model.update_record|Model – update model record (name, description)|我的模型-更新模型外壳（编辑名称和描述）|YYYN
34|model.list_records|Model – list model records (paged)|我的模型-模型外壳列表分页查询|YYYN
35|model.get_record|Model – get model record by id|我的模型-根据id查询模型外壳单条信息|YYYN
36|model.list_versions|Model – list versions (paged)|我的模型-分页查询模型版本|YYYN
37|model.detail_page|Model – model detail page (paged)|我的模型-分页查询模型详情页|YYYN
38|model.list_all_versions|Model – get all versions of all records (for deployment)|我的模型-获取所有模型外壳的所有版本号(模型部署用)|YYYN
39|model.upload_file|Model – upload model file|我的模型-模型文件上传|YYYN
40|model.download_file|Model – download model file|我的模型-下载模型文件|YYYN
41|model.export_local|Model – export to local|我的模型-导出到本地|YYYN
42|model.export_media|Model – export to vendor media storage|我的模型-导出到(vendor)媒体存储|YYYN
43|model.delete_record|Model – delete model record|我的模型-模型外壳删除|YYYN
44|model.delete_version|Model – delete version|我的模型-模型版本删除|YYYN
45|model.delete_file|Model – delete model file|我的模型-模型文件删除|YYYN
46|model.record_share_token|Model record – get share token|我的模型外壳-获取口令|YYYN
47|model.version_share_token|Model (version) – get share token|我的模型-获取口令|YYYN
48|model.resolve_share_token|Model – resolve share token to name and id|我的模型-根据口令获取模型名称与id|YYYN
49|model.list_compressible|Model – list compressible records and versions|我的模型-获取可压缩的模型外壳及版本详情|YYYN
50|image.view|Image – custom – view|我的镜像-自定义镜像-查看|YYYN
51|image.make|Image – custom – make image|我的镜像-自定义镜像-制作镜像|YYYN
52|image.cancel_make|Image – custom – cancel making|我的镜像-自定义镜像-取消制作|YYYN
53|image.share|Image – custom – share|我的镜像-自定义镜像-分享|YYYN
54|image.unshare|Image – custom – unshare|我的镜像-自定义镜像-取消分享|YYYN
55|code.list|Code package – list (paged)|我的代码包-分页查询|YYYN
56|code.import|Code package – import|我的代码包-导入代码包|YYY-
57|code.reupload|Code package – re-upload|我的代码包-重新上传|YYYN
58|code.delete|Code package – delete|我的代码包-删除|YYYN
59|code.view|Code package – view|我的代码包-查看|YYYN
60|code.start_training|Code package – start training|我的代码包-开始训练|YYYN
61|code.online_coding|Code package – online coding|我的代码包-在线编码|YYYN
62|code.download|Code package – download|我的代码包-下载|YYYN
63|training.create|Training job – create|训练任务-新建|YYY-
64|training.copy|Training job – copy|训练任务-复制|YYYN
65|training.start|Training job – start|训练任务-启动|YYYY
66|training.stop|Training job – stop|训练任务-停止|YYYY
67|training.delete|Training job – delete|训练任务-删除|YYYY
68|training.list|Training job – list (paged)|训练任务-分页查询|YYYY
69|training.view|Training job – view details|训练任务-查看详情|YYYY
70|devenv.create|Dev environment – create|开发机-新建|YYY-
71|devenv.start|Dev environment – start|开发机-启动|YYYY
72|devenv.stop|Dev environment – stop|开发机-停止|YYYY
73|devenv.delete|Dev environment – delete|开发机-删除|YYYY
74|devenv.list|Dev environment – list (paged)|开发机-分页查询|YYYY
75|devenv.view|Dev environment – view details|开发机-查看详情|YYYY
76|devenv.save_to_code|Dev environment – save to code package|开发机-保存至代码包|YYYN
77|devenv.make_image|Dev environment – make image|开发机-制作镜像|YYYN
78|devenv.start_training|Dev environment – start training|开发机-开始训练|YYYN
79|common.events|Common – events|公共服务-事件|YYYY
80|common.logs|Common – logs|公共服务-日志|YYYY
81|common.monitoring|Common – monitoring|公共服务-监控|YYYY
82|common.save_to_model|Common – save to model registry|公共服务-保存至模型管理|YYYN
"""


def _parse(rows: str) -> tuple[Point, ...]:
    points = []
    for line in rows.strip().splitlines():
        number, key, label, source, cells, *flags = line.split("|")
        a, d, o, x = (Effect(c) for c in cells)
        points.append(
            Point(int(number), key, label, source, a, d, o, x, shared_read="shared" in flags)
        )
    return tuple(points)


POINTS: tuple[Point, ...] = _parse(_ROWS)
BY_KEY: dict[str, Point] = {p.key: p for p in POINTS}

assert len(POINTS) == 82 and len(BY_KEY) == 82, "spec 01 §5 has exactly 82 distinct rows"
assert [p.number for p in POINTS] == list(range(1, 83))
